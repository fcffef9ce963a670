"""The experiment grid: its configs and their bases, its plan, its verdicts, and the smallest real slice end to end."""

import json
from pathlib import Path

import pytest

from hubkit.experiments import derived, report, runner
from hubkit.experiments.config import GridConfig
from hubkit.experiments.report import conclusions, describe_budget
from hubkit.experiments.runner import Run, plan

REPO = Path(__file__).resolve().parent.parent


def test_plan_covers_the_grid_and_reference_only_where_released():
    cfg = GridConfig(name="t", seeds=[1, 2], languages=["sindhi", "pashto"], settings=["original", "reference"],
                     modes=["mono", "multi"])
    runs = plan(cfg)
    names = {r.name for r in runs}
    assert "original__mono__sindhi__seed1" in names and "original__multi__sindhi+pashto__seed2" in names
    assert "reference__mono__pashto__seed1" in names
    assert not any(r.setting == "reference" and "sindhi" in r.languages for r in runs)  # no Sindhi reference set
    assert len(runs) == 2 * (2 + 1) + 2 * 1  # original: 2 mono + 1 multi; reference: pashto mono


def test_configs_shipped_are_valid():
    for path in (REPO / "experiments").glob("*.yaml"):
        cfg = GridConfig.load(path)
        assert plan(cfg), path


def test_unknown_key_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: tiny\nsettngs: [original]\n")
    with pytest.raises(ValueError, match="unknown key"):
        GridConfig.load(path)
    path.write_text("model: tiny\ntrain:\n  freeze_word_embedding: true\n")  # misspelt: not silently dropped
    with pytest.raises(ValueError, match=r"train: \['freeze_word_embedding'\] not `hubkit train` options"):
        GridConfig.load(path)
    path.write_text("model: tiny\ntrain:\n  seed: 3\n")  # set per run by the grid
    with pytest.raises(ValueError, match="seed"):
        GridConfig.load(path)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_base_config_gives_the_defaults_and_sections_merge_key_by_key(tmp_path):
    _write(tmp_path, "bases/root.yaml", "model: tiny\nseeds: [1, 2, 3]\njobs: 2\nnote: the root's remark\n"
                                        "train:\n  learning_rate: 2.0e-4\n  max_length: 128\n  cpu_threads: 1\n"
                                        "augment:\n  n_candidates: 5\n")
    _write(tmp_path, "bases/mid.yaml", "base: root.yaml\nname: mid\ntrain:\n  num_train_epochs: 4\n")
    child = _write(tmp_path, "child.yaml", "base: bases/mid.yaml\nseeds: [7]\nsettings: [original]\n"
                                           "train:\n  learning_rate: 1.0e-4\naugment:\n  feeders: [urdu]\n")
    cfg = GridConfig.load(child)
    assert cfg.name == "child" and cfg.note == ""  # a file's name and remark are its own
    assert cfg.model == "tiny" and cfg.jobs == 2 and cfg.seeds == [7] and cfg.settings == ["original"]
    assert cfg.train == {"learning_rate": 1.0e-4, "max_length": 128, "cpu_threads": 1, "num_train_epochs": 4}
    assert cfg.augment == {"n_candidates": 5, "feeders": ["urdu"]}
    assert cfg.ranker == GridConfig(name="x").ranker  # set nowhere: the built-in default


def test_a_base_that_is_missing_or_names_itself_back_is_refused_naming_the_file(tmp_path):
    child = _write(tmp_path, "child.yaml", "base: nowhere.yaml\nmodel: tiny\n")
    with pytest.raises(ValueError, match=r"child\.yaml: base: nowhere\.yaml not found"):
        GridConfig.load(child)
    _write(tmp_path, "a.yaml", "base: b.yaml\n")
    _write(tmp_path, "b.yaml", "base: a.yaml\nmodel: tiny\n")
    cycle = r"b\.yaml: base: the configs name each other in a cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"
    with pytest.raises(ValueError, match=cycle):
        GridConfig.load(tmp_path / "a.yaml")
    _write(tmp_path, "self.yaml", "base: self.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        GridConfig.load(tmp_path / "self.yaml")
    _write(tmp_path, "child.yaml", "base: [a.yaml]\n")
    with pytest.raises(ValueError, match=r"child\.yaml: base: must be the path of another config file"):
        GridConfig.load(child)


def test_a_bad_key_in_a_base_is_refused_naming_the_base(tmp_path):
    _write(tmp_path, "base.yaml", "model: tiny\ntrain:\n  learnin_rate: 1.0e-4\n")
    child = _write(tmp_path, "child.yaml", "base: base.yaml\nseeds: [1]\n")
    with pytest.raises(ValueError, match=r"base\.yaml: train: \['learnin_rate'\] not `hubkit train` options"):
        GridConfig.load(child)
    _write(tmp_path, "base.yaml", "model: tiny\nsettngs: [original]\n")
    with pytest.raises(ValueError, match=r"base\.yaml: unknown key\(s\) \['settngs'\]"):
        GridConfig.load(child)
    _write(tmp_path, "base.yaml", "train: 3\n")
    with pytest.raises(ValueError, match=r"base\.yaml: train: must be a mapping"):
        GridConfig.load(child)


def test_the_budget_is_generated_from_the_values(tmp_path):
    path = _write(tmp_path, "grid.yaml", "model: tiny\nbudget_note: 8 epochs\n")
    with pytest.raises(ValueError, match=r"grid\.yaml: budget_note: the budget is now generated .* `note`"):
        GridConfig.load(path)
    cfg = GridConfig.load(REPO / "experiments" / "cpu-e5-sindhi-urdu.yaml")
    budget = describe_budget(cfg)
    for words in ("urdu a seeded subset of 2,000 sentences", "sindhi its full training split", "4 epochs",
                  "batch 16", "lr 2e-4", "sentences without entities kept at 10%", "word embeddings frozen",
                  "3 seeds (1, 2, 3)", "ranker: the grid's model and training options with 4 epochs"):
        assert words in budget, words
    cfg.train = {**cfg.train, "learning_rate": 5e-5}
    assert "lr 5e-5" in describe_budget(cfg)


def test_the_e5_grids_share_a_base_and_resolve_to_the_values_their_caches_were_made_with():
    """Cached runs are found by the resolved values: factoring the e5 grids into a base must not move them."""
    steps = GridConfig.load(REPO / "experiments" / "cpu-e5-pashto-steps.yaml")
    assert steps.train == {"max_steps": 1012, "per_device_train_batch_size": 16, "per_device_eval_batch_size": 64,
                           "learning_rate": 1.0e-4, "warmup_ratio": 0.1, "max_length": 128,
                           "keep_sentences_without_entities": 0.1, "freeze_word_embeddings": True,
                           "mixed_precision": "auto", "cpu_threads": 1}  # no num_train_epochs: max_steps alone
    multi = GridConfig.load(REPO / "experiments" / "cpu-e5-multi.yaml")
    assert multi.train == {**{k: v for k, v in steps.train.items() if k != "max_steps"}, "num_train_epochs": 4}
    assert (multi.modes, multi.jobs, multi.seeds, multi.model) == (["multi"], 2, [1, 2, 3], "e5-small")
    for name in ("cpu-e5-shahmukhi", "cpu-e5-sindhi-urdu"):
        cfg = GridConfig.load(REPO / "experiments" / f"{name}.yaml")
        assert cfg.name == name and cfg.train == {**multi.train, "learning_rate": 2.0e-4}
        assert cfg.ranker == {"num_train_epochs": 4} and cfg.modes == ["mono"]


def test_language_sampling_is_the_runs_not_the_rankers():
    """A grid that only resamples the languages (cpu-multi-t5) shares the ranker and augmented data
    of the grid it varies (cpu), so it reproduces from a fresh clone without copied caches."""
    base = GridConfig.load(REPO / "experiments" / "cpu.yaml")
    resampled = GridConfig.load(REPO / "experiments" / "cpu-multi-t5.yaml")
    assert resampled.train["sampling_temperature"] == 5.0
    options, key = runner.ranker_setup(resampled, data_key="")
    assert "sampling_temperature" not in options and options["num_train_epochs"] == 3
    assert key == runner.ranker_setup(base, data_key="")[1]
    resampled.ranker = {**resampled.ranker, "sampling_temperature": 5.0}  # asked for: the ranker gets it too
    options, key = runner.ranker_setup(resampled, data_key="")
    assert options["sampling_temperature"] == 5.0 and key != runner.ranker_setup(base, data_key="")[1]


def _cell(values):
    return {"f1": values, "PER": [], "LOC": [], "ORG": [], "reviewed": []}


def test_a_difference_inside_the_seeds_spread_is_a_tie():
    cells = {("pashto", "original", "mono"): _cell([50.0, 52.0, 54.0]),
             ("pashto", "cluster-x1", "mono"): _cell([51.0, 53.0, 55.0]),  # +1, spread 2: tie
             ("pashto", "random", "mono"): _cell([60.0, 60.5, 61.0])}      # +8.5: better
    verdicts = "\n".join(conclusions(cells))
    assert "cluster-x1 vs original: tie" in verdicts
    assert "random vs original: better by 8.50" in verdicts
    assert "cluster-x1 vs random: worse by 7.50" in verdicts  # clusters judged against random replacement too
    cells[("pashto", "copies-x2", "mono")] = _cell([59.0, 60.0, 61.0])  # the longer-training control
    cells[("pashto", "cluster-x2", "mono")] = _cell([59.5, 60.5, 61.5])
    verdicts = "\n".join(conclusions(cells))
    assert "copies-x2 vs original: better by 8.00" in verdicts
    assert "cluster-x2 vs copies-x2: tie" in verdicts  # judged against its equal-size control...
    assert "cluster-x2 vs original: better by 8.50" in verdicts  # ...which the original alone would hide
    assert "cluster-x1 vs copies-x2" not in verdicts and "random vs copies-x2" not in verdicts  # not equal size
    cells[("pashto", "original", "multi")] = _cell([40.0, 41.0, 42.0])  # -11, spread 2: worse
    verdicts = "\n".join(conclusions(cells))
    assert "pashto, original: multilingual vs monolingual: worse by 11.00" in verdicts


def test_runs_that_tag_no_entity_are_listed_for_checking(tmp_path):
    from hubkit.evaluation.metrics import score

    gold = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    learned = {"test": score(gold, gold), "setup": {}, "warnings": []}
    only_o = {"test": score(gold, [["O"] * 3, ["O"] * 2]), "setup": {}, "warnings": ["learned only 'O' (lr 3e-4)"]}
    records = [{"run": Run("original", "mono", ("sindhi",), seed), "results": res, "seconds": 1.0}
               for seed, res in ((1, learned), (2, only_o))]
    text = report.write_results(GridConfig(name="t"), records, tmp_path, "hubkit reproduce t.yaml").read_text()
    assert "## Runs to check\n- `original__mono__sindhi__seed2`: learned only 'O' (lr 3e-4)\n" in text
    assert "seed1`" not in text.split("## Runs to check")[1]
    records[1]["results"]["warnings"] = []
    assert "Runs to check" not in report.write_results(GridConfig(name="t"), records, tmp_path, "c").read_text()


def test_smoke_grid_end_to_end(real_data_dir, tmp_path):
    """The CI slice: tiny model, Pashto, original / copies-x2 / cluster-x1 / reference, one seed, a few
    steps, trained two at a time in worker processes."""
    import datasets
    import transformers

    cfg = GridConfig.load(REPO / "experiments" / "smoke.yaml")
    records = runner.run_grid(cfg, tmp_path, real_data_dir, jobs=2)
    assert [r["run"].setting for r in records] == ["original", "copies-x2", "cluster-x1", "reference"]
    results_md = report.write_results(cfg, records, tmp_path, "hubkit reproduce experiments/smoke.yaml")
    text = results_md.read_text()
    for setting in ("original", "copies-x2", "cluster-x1", "reference"):
        assert f"| pashto | {setting} | mono | 1 |" in text
    assert (tmp_path / "f1.png").stat().st_size > 1000
    assert f"transformers {transformers.__version__}" in text  # versions can differ from constraints.txt: the table names them
    # hand-written notes between the markers survive a rewrite of the table
    results_md.write_text(text.replace("Model: `tiny`", "<!-- notes -->\nran in 3 s\n<!-- /notes -->\nModel: `tiny`"))
    rewritten = report.write_results(cfg, records, tmp_path, "hubkit reproduce experiments/smoke.yaml").read_text()
    assert "<!-- notes -->\nran in 3 s\n<!-- /notes -->\nModel: `tiny`" in rewritten
    aug_train = json.loads((tmp_path / "runs" / "cluster-x1__mono__pashto__seed1" / "results.json").read_text())
    orig_train = json.loads((tmp_path / "runs" / "original__mono__pashto__seed1" / "results.json").read_text())
    assert aug_train["setup"]["train_sentences"] > orig_train["setup"]["train_sentences"] == 100
    assert "test_reviewed" in records[0]["results"]
    # copies-x2: cluster-x2's rows, each put back to its source sentence (same size, only original sentences)
    x2 = datasets.load_dataset(str(tmp_path / "cache" / "pakner-aug"), "pashto", split="train_x2")
    copies = datasets.load_dataset(str(tmp_path / "cache" / "pakner-copies"), "pashto", split="train")
    original = datasets.load_dataset(str(tmp_path / "cache" / "pakner"), "pashto", split="train")
    by_id = {row["id"]: (row["tokens"], row["ner_tags"]) for row in original}
    assert len(copies) == len(x2) > len(original) and sorted(copies["id"]) == sorted(x2["orig_id"])
    assert all(by_id[row["id"]] == (row["tokens"], row["ner_tags"]) for row in copies)
    assert "copies-x2 vs original" in text and "cluster-x1 vs copies-x2" not in text
    # a budget's fixed training subset: a seeded sample in upstream order, other splits untouched
    subset_dir = derived.subset_pakner(tmp_path / "cache" / "pakner", tmp_path / "subset", {"pashto": 30}, ["pashto"])
    subset = datasets.load_dataset(str(subset_dir), "pashto")
    ids = original["id"]
    assert len(subset["train"]) == 30 and subset["train"]["id"] == sorted(subset["train"]["id"], key=ids.index)
    assert subset["validation"]["id"] == datasets.load_dataset(
        str(tmp_path / "cache" / "pakner"), "pashto", split="validation")["id"]
    logs = {r["run"].setting: (tmp_path / "runs" / r["run"].name / "train.log").read_text() for r in records}
    assert all("INFO hubkit.training.encoder: training on" in log for log in logs.values())  # each worker logged its run
    assert "training on 100 sentences" in logs["original"]
    # cached: a second run trains nothing new
    again = runner.run_grid(cfg, tmp_path, real_data_dir)
    assert [r["results"]["setup"] for r in again] == [r["results"]["setup"] for r in records]
    assert all(r["cached"] for r in again) and not any(r["cached"] for r in records)
    assert runner._took(again[0]) == f"cached (trained in {again[0]['seconds']:.0f} s)"
    # a changed augmentation option redoes the augmented data and the runs trained on it, nothing else
    stamps = {r["run"].setting: (tmp_path / "runs" / r["run"].name / "results.json").stat().st_mtime_ns
              for r in records}
    ranker_stamp = (tmp_path / "cache" / "ranker" / "results.json").stat().st_mtime_ns
    cfg.augment = {**cfg.augment, "n_candidates": 2}
    changed = runner.run_grid(cfg, tmp_path, real_data_dir)
    after = {r["run"].setting: (tmp_path / "runs" / r["run"].name / "results.json").stat().st_mtime_ns
             for r in changed}
    assert after["original"] == stamps["original"] and after["reference"] == stamps["reference"]
    assert after["cluster-x1"] != stamps["cluster-x1"] and after["copies-x2"] != stamps["copies-x2"]
    assert (tmp_path / "cache" / "ranker" / "results.json").stat().st_mtime_ns == ranker_stamp
    summary = json.loads((tmp_path / "cache" / "pakner-aug" / "augmentation_summary.json").read_text())
    assert summary["cluster"]["n_candidates"] == 2  # rebuilt with the new option


def test_workers_die_with_a_killed_grid(tmp_path):
    """`--jobs N` trains in worker processes; killing the grid (even with SIGKILL) must stop them too."""
    import os
    import subprocess
    import sys
    import textwrap
    import time

    script = tmp_path / "grid.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, os, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from hubkit.experiments.runner import _init_worker

        def train(path):
            open(path, "w").write(os.environ["HUBKIT_CPU_THREADS"] + " " + str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_init_worker, initargs=("1",)) as pool:
                pool.submit(train, sys.argv[1])
                time.sleep(120)
    """))
    pid_file = tmp_path / "worker.pid"
    grid = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        threads, worker = map(int, pid_file.read_text().split())
        assert threads == 1  # the worker's share of the cores
    finally:
        grid.kill()
        grid.wait()

    def running(pid: int) -> bool:  # a dead child not yet reaped by init shows as a zombie
        try:
            return " (Z)" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1].splitlines()[0]
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = running(worker)
    if alive:
        os.kill(worker, 9)
    assert not alive, "the worker outlived the killed grid"
