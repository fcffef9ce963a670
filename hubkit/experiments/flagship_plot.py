"""`results/flagship/search.png`: the flagship's recipe search as a picture, validation only.

Left, pooled validation F1 after each epoch (what training keeps the best weights by): the released
recipe's seeds in grey, each candidate in a colour of its own. Right, what a candidate is chosen by:
the mean over the four languages of the model alone's validation F1, one dot per seed, against the
released seeds' mean ± std as a band. No test figure is drawn.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from hubkit.languages import LANGUAGES

PLOT_FILE = "search.png"
SEED_STYLES = ("-", "--", ":")


def search_series(seeds: list[dict], search: list[dict]) -> dict:
    """What the picture draws: per run its recipe name, seed, epoch curve and mean of 4 (F1 points)."""
    def run(name: str, seed: int, curve: list[float], validation: dict) -> dict:
        return {"name": name, "seed": seed, "curve": curve,
                "mean_of_4": statistics.mean(validation[lang] for lang in LANGUAGES)}

    released = [run("released", s["seed"], [100 * h["validation_f1"] for h in s["history"]],
                    s["validation_without_gazetteer_f1"]) for s in seeds]
    candidates = [run(r["name"], r["seed"], r["curve"], r["validation_f1"]) for r in search]
    return {"released": released, "candidates": candidates}


def plot_search(seeds: list[dict], search: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = search_series(seeds, search)
    names = sorted({c["name"] for c in series["candidates"]})
    palette = [plt.get_cmap("tab10")(i) for i in range(10) if i != 7]  # tab10's 7th is the released runs' grey
    colours = {name: palette[i % len(palette)] for i, name in enumerate(names)}
    fig, (curves, choice) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for run in series["released"]:
        curves.plot(range(1, len(run["curve"]) + 1), run["curve"], color="grey", lw=2.5, alpha=0.6)
    labelled = set()
    for run in series["candidates"]:  # one legend entry per candidate; its seeds differ by line style
        curves.plot(range(1, len(run["curve"]) + 1), run["curve"], marker="o", ms=3, color=colours[run["name"]],
                    ls=SEED_STYLES[(run["seed"] - 1) % len(SEED_STYLES)],
                    label=None if run["name"] in labelled else run["name"])
        labelled.add(run["name"])
    curves.plot([], [], color="grey", lw=2.5, alpha=0.6, label="released recipe")
    curves.xaxis.get_major_locator().set_params(integer=True)
    curves.set(xlabel="epoch (seed 1 solid, 2 dashed, 3 dotted)", ylabel="pooled validation F1",
               title="validation F1 after each epoch")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=7, ncol=2)
    _choice_panel(choice, series, names, colours)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _choice_panel(ax, series: dict, names: list[str], colours: dict) -> None:
    """Mean of 4 per candidate seed, against the released seeds' band."""
    means = [run["mean_of_4"] for run in series["released"]]
    mid = statistics.mean(means)
    spread = statistics.stdev(means) if len(means) > 1 else 0.0
    ax.axhspan(mid - spread, mid + spread, color="grey", alpha=0.25, label="released: mean ± std")
    ax.axhline(mid, color="grey", lw=1)
    for x, name in enumerate(names):
        ys = [run["mean_of_4"] for run in series["candidates"] if run["name"] == name]
        ax.scatter([x] * len(ys), ys, color=colours[name], zorder=3)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel="validation F1, mean of 4 languages", title="model alone, one dot per seed")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
