"""The O-label bias: decoding with it, choosing it on validation, `hubkit calibrate`, and its use by
`hubkit evaluate` and `hubkit tag` through the model folder's config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hubkit.data.labels import LABELS
from hubkit.evaluation.calibration import BIAS_GRID, CONFIG_KEY, RESULT_FILE, choose_outside_bias
from hubkit.evaluation.decoding import decode
from tests.test_tagger import EXAMPLES, build_test_model, model_cache_root

REPO = Path(__file__).resolve().parent.parent
O, B_PER = LABELS.index("O"), LABELS.index("B-PER")


def _scores(margins: list[float]) -> np.ndarray:
    """One word per margin: log p(B-PER) - log p(O) = margin, every other label far below."""
    out = np.full((len(margins), len(LABELS)), -10.0)
    for w, m in enumerate(margins):
        out[w, O], out[w, B_PER] = -1.0, -1.0 + m
    return out


@pytest.mark.parametrize("bio", [True, False])
def test_the_bias_moves_words_to_o_and_a_negative_one_away(bio):
    scores = _scores([0.3, 2.0])
    assert [LABELS[i] for i in decode(scores, bio=bio)] == ["B-PER", "B-PER"]
    assert [LABELS[i] for i in decode(scores, bio=bio, outside_bias=0.5)] == ["O", "B-PER"]
    assert [LABELS[i] for i in decode(_scores([-0.3]), bio=bio, outside_bias=-0.5)] == ["B-PER"]
    assert scores[0, O] == -1.0  # the caller's array is not changed


def test_the_choice_is_the_best_mean_over_languages_and_the_nearest_to_zero_on_a_tie():
    # Language a: one sentence without an entity that the model tags (margin 0.3), one real entity
    # (margin 2); language b: one real entity (margin 1.1). Every bias in [0.5, 1.0] gets all three
    # right (0.25 keeps the false one, 1.25 loses b's entity), so the nearest to 0 of them wins.
    scores = [_scores([0.3]), _scores([2.0]), _scores([1.1])]
    gold = [["O"], ["B-PER"], ["B-PER"]]
    choice = choose_outside_bias(scores, gold, ["a", "a", "b"])
    assert choice["outside_bias"] == 0.5
    rows = {r["bias"]: r for r in choice["grid"]}
    assert [r["bias"] for r in choice["grid"]] == list(BIAS_GRID)
    assert rows[0.0]["f1"] == pytest.approx({"a": 2 / 3, "b": 1.0})
    assert rows[0.5]["mean"] == rows[1.0]["mean"] == 1.0 > rows[0.25]["mean"] and rows[1.25]["f1"]["b"] == 0.0


# ----------------------------------------------------------------------------- the verb
@pytest.fixture
def model_copy(real_data_dir_or_none, mini_dataset, request, tmp_path_factory, tmp_path) -> Path:
    """A writable copy of the tagger tests' trained tiny model."""
    src = build_test_model(real_data_dir_or_none or mini_dataset, model_cache_root(request, tmp_path_factory))
    return Path(shutil.copytree(src, tmp_path / "model"))


def _hubkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hubkit.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def test_calibrate_stores_the_validation_choice_and_evaluate_decodes_with_it(model_copy, mini_dataset, tmp_path):
    proc = _hubkit("calibrate", "--model", str(model_copy), "--dataset", str(mini_dataset), "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    choice = json.loads((model_copy / RESULT_FILE).read_text())
    assert choice["split"] == "validation" and _config(model_copy)[CONFIG_KEY] == choice["outside_bias"]
    best = max(r["mean"] for r in choice["grid"])
    assert next(r for r in choice["grid"] if r["bias"] == choice["outside_bias"])["mean"] == best
    proc = _hubkit("evaluate", "--model", str(model_copy), "--dataset", str(mini_dataset), "--split", "validation",
                   "--threads", "1", "--output", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr
    per_lang = json.loads((tmp_path / "eval" / "results.json").read_text())["validation"]["per_language"]
    assert np.mean([r["overall"]["f1"] for r in per_lang.values()]) == pytest.approx(best)


def _n_predicted(folder: Path, dataset: Path, tmp_path: Path, *extra: str) -> int:
    out = tmp_path / f"eval{len(list(tmp_path.glob('eval*')))}"
    proc = _hubkit("evaluate", "--model", str(folder), "--dataset", str(dataset), "--split", "validation",
                   "--threads", "1", "--output", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "results.json").read_text())["validation"]["overall"]["n_pred"]


def test_a_stored_bias_is_what_evaluate_and_tag_use_unless_overridden(model_copy, mini_dataset, tmp_path):
    from hubkit.serve.tagger import Tagger

    config = _config(model_copy)
    config[CONFIG_KEY] = 3.0
    (model_copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    stored = _n_predicted(model_copy, mini_dataset, tmp_path)
    assert stored == _n_predicted(model_copy, mini_dataset, tmp_path, "--outside_bias", "3")
    assert stored < _n_predicted(model_copy, mini_dataset, tmp_path, "--outside_bias", "0")
    text = tmp_path / "in.txt"
    text.write_text("\n".join(EXAMPLES.values()) + "\n", encoding="utf-8")
    assert Tagger.from_pretrained(str(model_copy)).outside_bias == 3.0
    tagged = {}
    for bias in ("3", "0"):
        proc = _hubkit("tag", str(text), "--model", str(model_copy), "--outside-bias", bias, "--quiet")
        assert proc.returncode == 0, proc.stderr
        tagged[bias] = sum(len(json.loads(line)["entities"]) for line in proc.stdout.splitlines())
    proc = _hubkit("tag", str(text), "--model", str(model_copy), "--quiet")
    assert sum(len(json.loads(line)["entities"]) for line in proc.stdout.splitlines()) == tagged["3"] < tagged["0"]


@pytest.mark.parametrize("args, message", [
    (["--split", "test"], "--split test: the bias is a setting, chosen on validation"),
    (["--split", "test_reviewed"], "--split test_reviewed"),
])
def test_calibrate_refuses_a_test_split_and_changes_nothing(model_copy, mini_dataset, args, message):
    before = (model_copy / "config.json").read_bytes()
    proc = _hubkit("calibrate", "--model", str(model_copy), "--dataset", str(mini_dataset), *args)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert (model_copy / "config.json").read_bytes() == before and not (model_copy / RESULT_FILE).exists()


def test_calibrate_refuses_a_folder_without_a_model(tmp_path, mini_dataset):
    proc = _hubkit("calibrate", "--model", str(tmp_path), "--dataset", str(mini_dataset))
    assert proc.returncode == 1 and "not a model folder" in proc.stderr and "Traceback" not in proc.stderr


def test_an_out_of_range_bias_is_refused_by_the_option_parser(model_copy, mini_dataset):
    proc = _hubkit("evaluate", "--model", str(model_copy), "--dataset", str(mini_dataset), "--outside_bias", "nan")
    assert proc.returncode == 2 and "--outside_bias" in proc.stderr and "Traceback" not in proc.stderr
