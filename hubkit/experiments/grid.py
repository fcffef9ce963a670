"""`hubkit reproduce CONFIG`: the paper's experiments as a grid, with results users can trust.

A config (YAML, see `experiments/`) names the model, languages, training-data settings, modes
(monolingual, multilingual) and seeds. The runner builds what the grid needs once and caches it
under `<out>/cache` (the `pakner` folder, the ranking model, the `pakner-aug` folder, the
authors' reference sets as dataset folders), trains one model per cell and seed with
`hubkit.training.encoder` (skipping cells whose `results.json` exists), and writes `RESULTS.md` with
mean and standard deviation of test F1 over seeds, per type, plots, and the paper's figures
beside ours. A difference smaller than the seeds' spread is called a tie.

Settings: `original` (ORG/pakner), `copies-x2` (cluster-x2's training set with every augmented
sentence put back to the sentence it came from: as many sentences and optimizer steps as
cluster-x2, no new names; the control for "more steps"), `random` (pakner-aug `train_random`),
`cluster-x1`, `cluster-x2`, `cluster-all-correct` (pakner-aug policies), `reference` (the training
set the paper's authors released, where there is one; their test split is never used).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hubkit.hardware import THREADS_ENV, usable_cores
from hubkit.options import COUNT, check_values, ranged

SETTINGS = ("original", "copies-x2", "random", "cluster-x1", "cluster-x2", "cluster-all-correct", "reference")
MODES = ("mono", "multi")
LANGUAGES = ("urdu", "shahmukhi", "sindhi", "pashto")
# The authors' released augmented training sets (../shared/data/reference-augmented): they hold
# the original split plus their augmented copies. 0-token rows (their "noise" copies of
# entity-only sentences) are dropped.
REFERENCE_SETS = {
    "pashto": "reference-augmented/pashto-cluster-cross/train_aug_x1.arrow",
    "shahmukhi": "reference-augmented/shahmukhi-cross/train_no_empty_aug_x1.arrow",
    "urdu": "reference-augmented/urdu-cross-rand/train_aug_x1.arrow",
}
# Reported by Ehsan & Solorio (2025), test F1, for the table's reference column.
PAPER = {
    "shahmukhi": "88.06 (best, with augmentation)",
    "pashto": "88.29 (best, with augmentation)",
    "note": "augmentation +2 to +5 F1; causal LLMs (LLaMA-3-8B, Mistral-7B) under 50 F1; "
            "models: Glot500-base and XLM-RoBERTa-large",
}
_POLICY = {"original": None, "copies-x2": None, "random": "random", "cluster-x1": None, "cluster-x2": "x2",
           "cluster-all-correct": "all-correct", "reference": None}


@dataclass
class GridConfig:
    name: str
    model: str = "e5-small"
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES))
    settings: list[str] = field(default_factory=lambda: list(SETTINGS))
    modes: list[str] = field(default_factory=lambda: ["mono"])
    train: dict = field(default_factory=dict)  # hubkit.training.encoder options (epochs, batch size, ...)
    max_train_samples: dict = field(default_factory=dict)  # per language; null = all
    max_eval_samples: int | None = None
    ranker: dict = field(default_factory=lambda: {"max_train_samples": 2000, "num_train_epochs": 1})
    augment: dict = field(default_factory=dict)  # hubkit.augment.build_aug options (n_candidates, k, ...)
    budget_note: str = ""
    # Train `reference` on as many sentences as our cluster-x1 set (a random sample of the
    # authors' set), so the comparison is at equal size and cost; implied by max_train_samples.
    reference_matches_x1: bool = False
    jobs: int = 1  # runs trained side by side (CPU budgets: jobs x train.cpu_threads = cores)

    @classmethod
    def load(cls, path: str | Path) -> "GridConfig":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}")
        cfg = cls(**{"name": Path(path).stem, **data})
        from hubkit.training.encoder import DataArguments, TrainArguments

        # Anything but a `hubkit train` option that `_train` leaves to the config is refused, so
        # that a misspelt one is not silently dropped.
        options = (set(TrainArguments.__dataclass_fields__) | set(DataArguments.__dataclass_fields__)) - SET_PER_RUN
        for section, allowed in (("train", options), ("ranker", options | {"max_train_samples"})):
            bad = sorted(set(getattr(cfg, section)) - allowed)
            if bad:
                raise ValueError(f"{path}: {section}: {bad} not `hubkit train` options the grid lets a config set")
            check_values(getattr(cfg, section), {**TrainArguments.ranges, **DataArguments.ranges}, f"{path}: {section}: ")
        check_values({"jobs": cfg.jobs, "max_eval_samples": cfg.max_eval_samples}, {"jobs": COUNT, "max_eval_samples": COUNT},
                     f"{path}: ")
        for key, allowed, values in (("settings", SETTINGS, cfg.settings), ("modes", MODES, cfg.modes),
                                     ("languages", LANGUAGES, cfg.languages)):
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"{path}: {key} {bad} not in {list(allowed)}")
        return cfg


@dataclass(frozen=True)
class Run:
    setting: str
    mode: str
    languages: tuple[str, ...]
    seed: int

    @property
    def name(self) -> str:
        return f"{self.setting}__{self.mode}__{'+'.join(self.languages)}__seed{self.seed}"


def plan(cfg: GridConfig) -> list[Run]:
    """Every (setting, mode, languages, seed) of the grid; reference only where a set exists."""
    runs = []
    for setting in cfg.settings:
        for mode in cfg.modes:
            groups = [(lang,) for lang in cfg.languages] if mode == "mono" else [tuple(cfg.languages)]
            for langs in groups:
                if setting == "reference" and not all(lang in REFERENCE_SETS for lang in langs):
                    continue
                runs.extend(Run(setting, mode, langs, seed) for seed in cfg.seeds)
    return runs


# ------------------------------------------------------------------ data the grid needs

def prepare_reference(data_dir: Path, pakner: Path, out: Path, languages) -> Path:
    """A dataset folder whose `train` is the authors' set and validation/test are pakner's."""
    import datasets

    from hubkit.data.corpora import features
    from hubkit.data.readers import ReadReport, read_arrow
    from hubkit.data.labels import tags_to_ids

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        if lang not in REFERENCE_SETS:
            continue
        report = ReadReport()
        path = data_dir / REFERENCE_SETS[lang]
        rows = list(read_arrow(path, report, strict=False))  # 0-token rows are skipped and counted
        train = datasets.Dataset.from_dict({
            "id": [f"reference/{lang}/{s.id}" for s in rows], "tokens": [s.tokens for s in rows],
            "ner_tags": [tags_to_ids(s.tags) for s in rows], "lang": [lang] * len(rows),
            "source": [f"reference:{REFERENCE_SETS[lang]}"] * len(rows)}, features=features())
        base = datasets.load_dataset(str(pakner), lang)
        configs[lang] = {"train": train, **{s: ds for s, ds in base.items() if s != "train"}}
        print(f"reference {lang}: {len(rows)} rows kept, {len(report.skipped)} skipped (0-token or malformed)")
    return _write_folder(out, configs, "# Reference augmented training sets of Ehsan & Solorio (2025)\n\n"
                                       "For comparison only.")


def _write_folder(out: Path, configs: dict, card_body: str) -> Path:
    """Write {config: {split: Dataset}} as a dataset folder laid out like a Hub repo; returns `out`."""
    from hubkit.data import dataset_repo

    for name, splits in configs.items():
        dataset_repo.write_config(out, name, splits)
    dataset_repo.write_card(out, dataset_repo.card_yaml(configs, {"license": "other"}), card_body)
    return out


# `hubkit train` options `_train` sets for every run itself; a config may not set them.
SET_PER_RUN = {"output_dir", "seed", "dataset", "languages", "policy", "max_train_samples", "max_eval_samples"}
# `train` options that say how the grid's runs mix the languages, a question the grid asks, not
# part of making its data: the ranker (it only scores candidates) trains without them unless the
# `ranker` section sets them, so grids that differ only here share one ranker and augmented set.
RUNS_ONLY = {"sampling_temperature"}


def _train(output_dir: Path, model: str, dataset: Path, languages, seed: int, options: dict,
           policy: str | None = None, max_train_samples: int | None = None, max_eval_samples: int | None = None,
           cache_dir: Path | None = None) -> dict:
    from hubkit.training.encoder import DataArguments, ModelArguments, TrainArguments, run

    results_file = output_dir / "results.json"
    if results_file.is_file():
        return json.loads(results_file.read_text())
    train_keys = set(TrainArguments.__dataclass_fields__)
    data_keys = set(DataArguments.__dataclass_fields__)
    model_args = ModelArguments(model_name_or_path=model, cache_dir=str(cache_dir) if cache_dir else None)
    data_args = DataArguments(dataset=str(dataset), languages=list(languages), policy=policy,
                              max_train_samples=max_train_samples, max_eval_samples=max_eval_samples,
                              **{k: v for k, v in options.items() if k in data_keys})
    train_args = TrainArguments(output_dir=str(output_dir), seed=seed,
                                **{k: v for k, v in options.items() if k in train_keys})
    return run(model_args, data_args, train_args)


def subset_pakner(pakner: Path, out: Path, sizes: dict, languages, seed: int = 0) -> Path:
    """A copy of `pakner` whose train splits hold a fixed subset (seeded sample, upstream order kept).

    Every setting of a budgeted grid starts from the same original sentences: the augmented
    data is made from this subset, so `original` and `cluster-x1` differ only by augmentation.
    """
    import random

    import datasets

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        dd = datasets.load_dataset(str(pakner), lang)
        n = sizes.get(lang)
        train = dd["train"]
        if n is not None and n < len(train):
            train = train.select(sorted(random.Random(seed).sample(range(len(train)), n)))
        configs[lang] = {"train": train, **{s: ds for s, ds in dd.items() if s != "train"}}
    return _write_folder(out, configs, f"# pakner, training subsets {sizes} (seed {seed})")


def copies_of(aug: Path, out: Path, languages) -> Path:
    """`pakner-aug` with `train` = its `train_x2` where each augmented row is replaced by its source sentence.

    Same size, entity-sentence mix and optimizer steps as cluster-x2, nothing new to learn from:
    what augmentation adds beyond training longer on the same sentences shows against it.
    """
    import datasets

    from hubkit.augment.build_aug import POLICY_SPLITS

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        dd = datasets.load_dataset(str(aug), lang)
        x2 = dd[POLICY_SPLITS["x2"]]
        row_of = {i: n for n, i in enumerate(x2["id"])}
        missing = sorted(set(x2["orig_id"]) - set(row_of))
        if missing:  # every source sentence is in the split, as an original row
            raise ValueError(f"{aug}/{lang}: augmented rows whose source sentence is not in train_x2: {missing[:3]}")
        train = x2.select([row_of[o] for o in x2["orig_id"]])
        configs[lang] = {"train": train, **{s: ds for s, ds in dd.items() if s == "validation" or s.startswith("test")}}
    return _write_folder(out, configs, "# pakner-aug train_x2 with augmented rows put back to their source sentences")


def _reference_size(aug: Path | None, lang: str) -> int | None:
    """Rows of our `cluster-x1` training set, so a budgeted reference run trains on as many."""
    if aug is None or not (aug / lang).is_dir():
        return None
    import datasets

    return len(datasets.load_dataset(str(aug), lang, split="train"))


def ranker_setup(cfg: GridConfig, data_key: str) -> tuple[dict, dict]:
    """The ranker's `hubkit train` options and the key its folder (and the augmented data) is cached under."""
    train = {k: v for k, v in cfg.train.items() if k not in RUNS_ONLY}
    options = {**train, **{k: v for k, v in cfg.ranker.items() if k != "max_train_samples"}}
    key = {"data": data_key, "model": cfg.model, "languages": sorted(cfg.languages), "train": train,
           "ranker": cfg.ranker, "seed": cfg.seeds[0], "max_eval_samples": cfg.max_eval_samples}
    return options, key


def run_grid(cfg: GridConfig, out: Path, data_dir: Path, only_plan: bool = False, jobs: int = 1) -> list[dict]:
    from hubkit.data.build import build_pakner
    from hubkit.augment.build_aug import build_pakner_aug

    cache = out / "cache"
    runs = plan(cfg)
    print(f"grid {cfg.name}: {len(runs)} training runs")
    if only_plan:
        for r in runs:
            print(" ", r.name)
        return []
    pakner = cache / "pakner"
    if not (pakner / "README.md").is_file():
        build_pakner(data_dir, pakner, corpus_names=None, progress=False)
    if any(v is not None for v in cfg.max_train_samples.values()):
        subset_key = {"sizes": cfg.max_train_samples, "languages": sorted(cfg.languages)}
        pakner = subset_pakner(pakner, _reuse_or_clear(cache / "pakner-subset", subset_key), cfg.max_train_samples,
                               cfg.languages)
        _write_key(pakner, subset_key)
    needs_aug = any(r.setting not in ("original", "reference") for r in runs)
    aug = cache / "pakner-aug"
    ranker_options, ranker_key = ranker_setup(cfg, data_key=_key_of(pakner))
    aug_key = {"ranker": ranker_key, "augment": cfg.augment, "with_random": "random" in cfg.settings}
    if needs_aug and not (_reuse_or_clear(aug, aug_key) / "README.md").is_file():
        ranker_dir = _reuse_or_clear(cache / "ranker", ranker_key)
        _train(ranker_dir, cfg.model, pakner, cfg.languages, cfg.seeds[0],
               ranker_options,
               max_train_samples=cfg.ranker.get("max_train_samples"), max_eval_samples=cfg.max_eval_samples,
               cache_dir=cache / "models")
        _write_key(ranker_dir, ranker_key)
        build_pakner_aug(pakner, aug, model=str(ranker_dir), languages=cfg.languages,
                         cache_dir=cache / "vectors", report_dir=out / "clusters",
                         with_random="random" in cfg.settings, **cfg.augment)
        _write_key(aug, aug_key)
    copies = None
    if "copies-x2" in cfg.settings:
        copies = copies_of(aug, _reuse_or_clear(cache / "pakner-copies", _key_of(aug)), cfg.languages)
        _write_key(copies, _key_of(aug))
    reference = None
    if "reference" in cfg.settings:
        reference = prepare_reference(data_dir, pakner, _reuse_or_clear(cache / "reference", _key_of(pakner)),
                                      cfg.languages)
        _write_key(reference, _key_of(pakner))
    cells = []
    reference_sizes: dict = {}  # read once per language, not once per seed
    for r in runs:
        dataset = {"original": pakner, "reference": reference, "copies-x2": copies}.get(r.setting, aug)
        limit = None
        if r.setting == "reference" and (cfg.reference_matches_x1
                                         or any(cfg.max_train_samples.get(lang) for lang in r.languages)):
            for lang in set(r.languages) - set(reference_sizes):
                reference_sizes[lang] = _reference_size(aug if needs_aug else None, lang)
            sizes = [reference_sizes[lang] for lang in r.languages]
            limit = None if None in sizes else sum(sizes)
        run_key = {"model": cfg.model, "data": _key_of(dataset), "train": cfg.train, "limit": limit,
                   "max_eval_samples": cfg.max_eval_samples}
        cells.append(dict(run=r, run_dir=_reuse_or_clear(out / "runs" / r.name, run_key), model=cfg.model,
                          dataset=dataset, run_key=run_key,
                          options=cfg.train, policy=_POLICY[r.setting], max_train_samples=limit,
                          max_eval_samples=cfg.max_eval_samples, cache_dir=cache / "models", pakner=pakner))
    if jobs <= 1:
        records = []
        for i, cell in enumerate(cells, 1):
            print(f"[{i}/{len(cells)}] {cell['run'].name}", flush=True)
            records.append(_run_cell(**cell))
            print(f"  {_took(records[-1])}", flush=True)
        return records
    # Independent cells in worker processes (each with its own log file); on a small CPU machine
    # two single-threaded runs side by side train about twice as fast as one after the other.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    records = [None] * len(cells)
    threads = os.environ.get(THREADS_ENV) or str(max(1, usable_cores() // jobs))  # the cores, shared by the jobs
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(_run_cell, log_to_file=True, **cell): i for i, cell in enumerate(cells)}
        for done, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            records[i] = future.result()
            print(f"[{done}/{len(cells)}] {cells[i]['run'].name}: {_took(records[i])}", flush=True)
    return records


def _took(record: dict) -> str:
    """`412 s`, or `cached (trained in 412 s)` for a run read back (plain `cached` if it was never timed)."""
    seconds = None if record["seconds"] is None else f"{record['seconds']:.0f} s"
    if not record["cached"]:
        return seconds
    return f"cached (trained in {seconds})" if seconds else "cached"


def _init_worker(threads: str) -> None:
    """Worker initializer: the worker's share of the cores, and a grid that is killed must not
    leave its trainings running (Linux)."""
    import ctypes
    import signal
    import sys

    os.environ[THREADS_ENV] = threads
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# A cached folder is reused only if it was made from the same inputs: each holds `grid_key.json`
# (the config items it depends on); a changed config clears it, so a re-run redoes only what changed.
# Folders from before keys were kept (no key file) are reused as they are.
KEY_FILE = "grid_key.json"


def _canonical(key) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def _key_of(folder: Path | None) -> str:
    """The key a folder was made with (its dependants' keys include it); '' when it has none."""
    if folder is None or not (folder / KEY_FILE).is_file():
        return ""
    return (folder / KEY_FILE).read_text(encoding="utf-8").strip()


def _reuse_or_clear(folder: Path, key) -> Path:
    import shutil

    if (folder / KEY_FILE).is_file() and _key_of(folder) != _canonical(key):
        print(f"{folder}: made with another configuration; rebuilding it", flush=True)
        shutil.rmtree(folder)
    return folder


def _write_key(folder: Path, key) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).write_text(_canonical(key) + "\n", encoding="utf-8")


def _run_cell(run: Run, run_dir: Path, model: str, dataset: Path, options: dict, policy, max_train_samples,
              max_eval_samples, cache_dir: Path, pakner: Path, run_key: dict, log_to_file: bool = False) -> dict:
    """Train and score one (setting, mode, languages, seed), or read its cached results."""
    import contextlib

    start = time.perf_counter()
    cached = (run_dir / "results.json").is_file()
    run_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if log_to_file and not cached:
            log = stack.enter_context(open(run_dir / "train.log", "a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(log))
            stack.enter_context(contextlib.redirect_stderr(log))
            _log_to(log)
        res = _train(run_dir, model, dataset, run.languages, run.seed, options, policy=policy,
                     max_train_samples=max_train_samples, max_eval_samples=max_eval_samples, cache_dir=cache_dir)
        if "pashto" in run.languages:  # the authors' corrected Pashto test, beside WikiANN's
            res["test_reviewed"] = _score_reviewed(run_dir, pakner, options.get("max_length", 256))
    _write_key(run_dir, run_key)
    timing = run_dir / "wall_seconds.txt"  # kept, so a cached re-run reports the real cost
    if not cached and not timing.is_file():
        timing.write_text(f"{time.perf_counter() - start:.1f}\n")
    seconds = float(timing.read_text()) if timing.is_file() else None  # None: trained before timings were kept
    return {"run": run, "results": res, "seconds": seconds, "cached": cached}


def _log_to(stream) -> None:
    """Send the root logger (hubkit.training.encoder's INFO lines) to `stream` in a worker process."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _score_reviewed(run_dir: Path, pakner: Path, max_length: int) -> dict:
    from hubkit.evaluation.predict import evaluate_model

    cached = run_dir / "test_reviewed.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    res = evaluate_model(run_dir, pakner, ["pashto"], split="test_reviewed", max_length=max_length)
    cached.write_text(json.dumps(res, indent=1) + "\n")
    return res


# ------------------------------------------------------------------ the table

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


def plot(cells: dict, path: Path) -> Path:
    """Bars of mean test F1 with std error bars: one panel per mode, one colour per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({k[0] for k in cells}, key=LANGUAGES.index)
    settings = sorted({k[1] for k in cells}, key=SETTINGS.index)
    modes = sorted({k[2] for k in cells}, key=MODES.index)
    colours = {s: plt.get_cmap("tab10")(SETTINGS.index(s)) for s in settings}
    fig, axes = plt.subplots(len(modes), 1, figsize=(max(6, 1.2 * len(langs) * max(1, len(settings)) / 2),
                                                     3.2 * len(modes)), squeeze=False, sharex=True)
    width = 0.8 / max(1, len(settings))
    for ax, mode in zip(axes[:, 0], modes):
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
    axes[-1, 0].set_xticks([i + width * (len(settings) - 1) / 2 for i in range(len(langs))], langs)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in settings]
    fig.legend(handles, settings, loc="upper center", ncol=len(settings), fontsize=8, frameon=False)
    fig.text(0.01, 0.01, "mean ± std over seeds", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 0.94))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


NOTES = ("<!-- notes -->", "<!-- /notes -->")


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


def write_results(cfg: GridConfig, records: list[dict], out: Path, command: str) -> Path:
    cells = aggregate(records)
    png = plot(cells, out / "f1.png") if cells else None
    rows = ["| language | setting | mode | seeds | F1 | PER | LOC | ORG | F1 on test_reviewed |",
            "|---|---|---|---|---|---|---|---|---|"]
    for (lang, setting, mode), cell in sorted(cells.items(), key=lambda kv: (LANGUAGES.index(kv[0][0]),
                                                                           SETTINGS.index(kv[0][1]), kv[0][2])):
        def fmt(values):
            if not values:
                return "-"
            m, s = _ms(values)
            return f"{m:.2f} ± {s:.2f}"
        rows.append(f"| {lang} | {setting} | {mode} | {len(cell['f1'])} | {fmt(cell['f1'])} | {fmt(cell['PER'])} "
                    f"| {fmt(cell['LOC'])} | {fmt(cell['ORG'])} | {fmt(cell['reviewed'])} |")
    setups = {}
    for rec in records:  # the first seed of each (languages, setting): training size and schedule
        setups.setdefault(("+".join(rec["run"].languages), rec["run"].setting), rec["results"].get("setup", {}))
    sizes = "\n".join(["| languages | setting | training sentences | epochs | batch |", "|---|---|---|---|---|"] + [
        f"| {langs} | {setting} | {v.get('train_sentences')} | {v.get('num_train_epochs')} "
        f"| {v.get('per_device_train_batch_size')} |" for (langs, setting), v in setups.items()])
    flagged = [f"- `{rec['run'].name}`: {w}" for rec in records for w in rec["results"].get("warnings", [])]
    to_check = "\n## Runs to check\n" + "\n".join(flagged) + "\n" if flagged else ""
    timed = [rec["seconds"] for rec in records if rec["seconds"] is not None]
    minutes = sum(timed) / 60
    path = out / "RESULTS.md"
    # Notes written by hand between the markers (e.g. the wall time of each command) survive a rewrite.
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    notes = (old[old.index(NOTES[0]):old.index(NOTES[1]) + len(NOTES[1])] + "\n"
             if NOTES[0] in old and NOTES[1] in old else "")
    text = f"""# Results: grid `{cfg.name}`

Command: `{command}`
Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} CPU cores, device `{next(iter(setups.values()), {}).get('device', '?')}`;
{_versions()};
{len(records)} runs; {len(timed)} of them timed: {minutes:.0f} minutes of training and evaluation (summed over runs).
{notes}Model: `{cfg.model}`. Budget: {cfg.budget_note or 'see the config'}.

Test F1 (entity level, seqeval strict IOB2, word level), mean ± standard deviation over seeds.
Pashto is scored on the WikiANN test split and, in the last column, on the authors' corrected
test set (`test_reviewed`); Sindhi and MK-PUCIT are partial here (train and
validation carved from the released validation file, test = the released `test_1k`).

{chr(10).join(rows)}

{f'![F1 per language and setting]({png.name})' if png else ''}

## What the numbers say
{chr(10).join(conclusions(cells)) or '- nothing to compare yet'}
{to_check}
## Reference: Ehsan & Solorio (2025)
- Shahmukhi: {PAPER['shahmukhi']}; Pashto: {PAPER['pashto']}.
- {PAPER['note']}.
Their models are far larger than ours and were trained on a GPU; this budget's model is
described above, so the absolute numbers are not comparable, only the direction of the
differences between settings.

## Training sizes
{sizes}
"""
    path.write_text(text, encoding="utf-8")
    return path


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="run the paper's experiment grid and write RESULTS.md",
        description="Run a grid of experiments (languages x training data x mono/multilingual x seeds) from a "
                    "YAML config in experiments/, caching what it can, and write RESULTS.md with mean and "
                    "standard deviation over seeds, plots, and the paper's figures beside ours.")
    p.add_argument("config", type=Path, help="grid config, e.g. experiments/cpu.yaml")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default: results/<config name>); runs/ and cache/ inside are not for git")
    p.add_argument("--data-dir", type=Path, default=None, help="corpora folder (default: $PAKNER_DATA_DIR)")
    p.add_argument("--plan", action="store_true", help="list the runs and stop")
    p.add_argument("--jobs", type=ranged(COUNT), default=None,
                   help="(default: the config's `jobs`, else 1) runs trained side by side in worker processes, each logging to runs/<run>/train.log; "
                        "each run gets the usable cores / jobs torch threads unless train.cpu_threads says otherwise")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    import sys

    from hubkit.data.corpora import default_data_dir

    cfg = GridConfig.load(args.config)
    data_dir = args.data_dir or default_data_dir()
    if data_dir is None and not args.plan:
        raise ValueError("no corpora: pass --data-dir or set PAKNER_DATA_DIR")
    out = args.out or Path("results") / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    records = run_grid(cfg, out, Path(data_dir) if data_dir else Path("."), only_plan=args.plan,
                       jobs=args.jobs or cfg.jobs)
    if records:
        path = write_results(cfg, records, out, "hubkit " + " ".join(sys.argv[1:]))
        print(f"wrote {path}")
    return 0
