"""The grid's runs: what they are, the data they need (built once, cached), and training them, side by side if asked.

Everything is cached under `<out>/cache` (the `pakner` folder or its training subset, the ranking
model, the `pakner-aug` folder, the copies and reference sets) and `<out>/runs/<run>` (one
trained model and its `results.json` per cell and seed). A cached folder is reused only if it
was made from the same inputs: each holds `grid_key.json` (the config items it depends on, and
the key of the folder it was made from); a changed config clears it, so a re-run redoes only what
changed. Folders from before keys were kept (no key file) are reused as they are.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hubkit.experiments import derived
from hubkit.experiments.config import GridConfig
from hubkit.hardware import THREADS_ENV, usable_cores

# `train` options that say how the grid's runs mix the languages, a question the grid asks, not
# part of making its data: the ranker (it only scores candidates) trains without them unless the
# `ranker` section sets them, so grids that differ only here share one ranker and augmented set.
RUNS_ONLY = {"sampling_temperature"}
KEY_FILE = "grid_key.json"


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
                if setting == "reference" and not all(lang in derived.REFERENCE_SETS for lang in langs):
                    continue
                runs.extend(Run(setting, mode, langs, seed) for seed in cfg.seeds)
    return runs


# ------------------------------------------------------------------ cache keys

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


# ------------------------------------------------------------------ the data the runs train on

@dataclass
class GridData:
    pakner: Path  # ORG/pakner, or its fixed training subset
    aug: Path  # pakner-aug (built only if a setting needs it)
    needs_aug: bool
    copies: Path | None = None
    reference: Path | None = None

    def of(self, setting: str) -> Path | None:
        return {"original": self.pakner, "reference": self.reference, "copies-x2": self.copies}.get(setting, self.aug)


def ranker_setup(cfg: GridConfig, data_key: str) -> tuple[dict, dict]:
    """The ranker's `hubkit train` options and the key its folder (and the augmented data) is cached under."""
    train = {k: v for k, v in cfg.train.items() if k not in RUNS_ONLY}
    options = {**train, **{k: v for k, v in cfg.ranker.items() if k != "max_train_samples"}}
    key = {"data": data_key, "model": cfg.model, "languages": sorted(cfg.languages), "train": train,
           "ranker": cfg.ranker, "seed": cfg.seeds[0], "max_eval_samples": cfg.max_eval_samples}
    return options, key


def prepare_data(cfg: GridConfig, out: Path, data_dir: Path, runs: list[Run]) -> GridData:
    """Build (or find in the cache) every dataset folder the runs train on."""
    cache = out / "cache"
    data = GridData(pakner=_pakner(cfg, cache, data_dir), aug=cache / "pakner-aug",
                    needs_aug=any(r.setting in derived.AUGMENTED for r in runs))
    if data.needs_aug:
        _augmented(cfg, out, data.pakner, data.aug)
    if "copies-x2" in cfg.settings:
        data.copies = derived.copies_of(data.aug, _reuse_or_clear(cache / "pakner-copies", _key_of(data.aug)),
                                        cfg.languages)
        _write_key(data.copies, _key_of(data.aug))
    if "reference" in cfg.settings:
        data.reference = derived.prepare_reference(
            data_dir, data.pakner, _reuse_or_clear(cache / "reference", _key_of(data.pakner)), cfg.languages)
        _write_key(data.reference, _key_of(data.pakner))
    return data


def _pakner(cfg: GridConfig, cache: Path, data_dir: Path) -> Path:
    """ORG/pakner built from the corpora, or, for a budget that limits training sizes, its seeded subset."""
    from hubkit.data.build import build_pakner

    pakner = cache / "pakner"
    if not (pakner / "README.md").is_file():
        build_pakner(data_dir, pakner, corpus_names=None, progress=False)
    if any(v is not None for v in cfg.max_train_samples.values()):
        subset_key = {"sizes": cfg.max_train_samples, "languages": sorted(cfg.languages)}
        pakner = derived.subset_pakner(pakner, _reuse_or_clear(cache / "pakner-subset", subset_key),
                                       cfg.max_train_samples, cfg.languages)
        _write_key(pakner, subset_key)
    return pakner


def _augmented(cfg: GridConfig, out: Path, pakner: Path, aug: Path) -> None:
    """pakner-aug, and the ranking model it is made with (trained on `pakner` first)."""
    from hubkit.augment.build_aug import build_pakner_aug

    cache = out / "cache"
    ranker_options, ranker_key = ranker_setup(cfg, data_key=_key_of(pakner))
    aug_key = {"ranker": ranker_key, "augment": cfg.augment, "with_random": "random" in cfg.settings}
    if (_reuse_or_clear(aug, aug_key) / "README.md").is_file():
        return
    ranker_dir = _reuse_or_clear(cache / "ranker", ranker_key)
    _train(ranker_dir, cfg.model, pakner, cfg.languages, cfg.seeds[0], ranker_options,
           max_train_samples=cfg.ranker.get("max_train_samples"), max_eval_samples=cfg.max_eval_samples,
           cache_dir=cache / "models")
    _write_key(ranker_dir, ranker_key)
    build_pakner_aug(pakner, aug, model=str(ranker_dir), languages=cfg.languages,
                     cache_dir=cache / "vectors", report_dir=out / "clusters",
                     with_random="random" in cfg.settings, **cfg.augment)
    _write_key(aug, aug_key)


# ------------------------------------------------------------------ the runs

def run_grid(cfg: GridConfig, out: Path, data_dir: Path, only_plan: bool = False, jobs: int = 1) -> list[dict]:
    """Train (or read back) every run of the grid; one record per run, in plan order."""
    runs = plan(cfg)
    print(f"grid {cfg.name}: {len(runs)} training runs")
    if only_plan:
        for r in runs:
            print(" ", r.name)
        return []
    data = prepare_data(cfg, out, data_dir, runs)
    reference_sizes: dict = {}  # read once per language, not once per seed
    cells = [_cell(cfg, out, r, data, reference_sizes) for r in runs]
    return _run_serially(cells) if jobs <= 1 else _run_side_by_side(cells, jobs)


def _cell(cfg: GridConfig, out: Path, run: Run, data: GridData, reference_sizes: dict) -> dict:
    """The arguments `_run_cell` trains one run with; clears its folder if it was trained with other inputs."""
    dataset = data.of(run.setting)
    limit = None
    if run.setting == "reference" and (cfg.reference_matches_x1
                                       or any(cfg.max_train_samples.get(lang) for lang in run.languages)):
        for lang in set(run.languages) - set(reference_sizes):
            reference_sizes[lang] = derived.reference_size(data.aug if data.needs_aug else None, lang)
        sizes = [reference_sizes[lang] for lang in run.languages]
        limit = None if None in sizes else sum(sizes)
    run_key = {"model": cfg.model, "data": _key_of(dataset), "train": cfg.train, "limit": limit,
               "max_eval_samples": cfg.max_eval_samples}
    return dict(run=run, run_dir=_reuse_or_clear(out / "runs" / run.name, run_key), model=cfg.model,
                dataset=dataset, run_key=run_key, options=cfg.train, policy=derived.POLICY[run.setting],
                max_train_samples=limit, max_eval_samples=cfg.max_eval_samples, cache_dir=out / "cache" / "models",
                pakner=data.pakner)


def _run_serially(cells: list[dict]) -> list[dict]:
    records = []
    for i, cell in enumerate(cells, 1):
        print(f"[{i}/{len(cells)}] {cell['run'].name}", flush=True)
        records.append(_run_cell(**cell))
        print(f"  {_took(records[-1])}", flush=True)
    return records


def _run_side_by_side(cells: list[dict], jobs: int) -> list[dict]:
    """Independent cells in worker processes (each with its own log file); on a small CPU machine
    two single-threaded runs side by side train about twice as fast as one after the other."""
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


def _train(output_dir: Path, model: str, dataset: Path, languages, seed: int, options: dict,
           policy: str | None = None, max_train_samples: int | None = None, max_eval_samples: int | None = None,
           cache_dir: Path | None = None) -> dict:
    """`hubkit train` with the grid's options, or the results it wrote before."""
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
