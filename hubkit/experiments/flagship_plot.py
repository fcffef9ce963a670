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
RELEASED = "released"  # the name of the released recipe's rows
SEED_STYLES = ("-", "--", ":")


def mean_of_4(row: dict) -> float:
    """What a candidate is chosen by: the model alone's validation F1, averaged over the languages."""
    return statistics.mean(row["validation_f1"][lang] for lang in LANGUAGES)


def plot_search(rows: list[dict], path: Path) -> Path:
    """rows: the search table's, each with name, seed, curve (F1 by epoch) and validation_f1 per language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {"released": [r for r in rows if r["name"] == RELEASED],
              "candidates": [r for r in rows if r["name"] != RELEASED]}
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
    means = [mean_of_4(run) for run in series["released"]]
    mid = statistics.mean(means)
    spread = statistics.stdev(means) if len(means) > 1 else 0.0
    ax.axhspan(mid - spread, mid + spread, color="grey", alpha=0.25, label="released: mean ± std")
    ax.axhline(mid, color="grey", lw=1)
    for x, name in enumerate(names):
        ys = [mean_of_4(run) for run in series["candidates"] if run["name"] == name]
        ax.scatter([x] * len(ys), ys, color=colours[name], zorder=3)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel="validation F1, mean of 4 languages", title="model alone, one dot per seed")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
