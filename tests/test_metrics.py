"""Entity-level scores against numbers counted by hand on a small fixture."""

import json

import pytest

from hubkit.evaluation.metrics import MISSED, SPURIOUS, compute_metrics, format_table, save_results

# Three sentences; what strict IOB2 sees, counted by hand:
# s1 gold PER[0:2] LOC[3:4]      pred PER[0:2] ORG[3:4]   -> PER correct, LOC predicted as ORG
# s2 gold ORG[0:2]               pred ORG[0:1] PER[3:4]   -> ORG boundary wrong, PER spurious
# s3 gold LOC[1:2]               pred I-LOC after O       -> strict: no entity predicted, LOC missed
GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "O"], ["O", "B-LOC", "O"]]
PRED = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O", "B-PER"], ["O", "I-LOC", "O"]]
LANGS = ["pashto", "pashto", "urdu"]


def test_overall_per_type_and_language_match_hand_counts():
    res = compute_metrics(GOLD, PRED, LANGS)
    o = res["overall"]
    # gold 4 entities, predicted 4 (the orphan I-LOC is none), 1 correct
    assert (o["n_gold"], o["n_pred"], o["n_correct"]) == (4, 4, 1)
    assert o["precision"] == pytest.approx(0.25) and o["recall"] == pytest.approx(0.25)
    assert o["f1"] == pytest.approx(0.25)
    assert o["word_accuracy"] == pytest.approx(7 / 11)
    per = res["per_type"]
    assert (per["PER"]["n_gold"], per["PER"]["n_pred"], per["PER"]["n_correct"]) == (1, 2, 1)
    assert per["PER"]["precision"] == pytest.approx(0.5) and per["PER"]["recall"] == pytest.approx(1.0)
    assert per["PER"]["f1"] == pytest.approx(2 / 3)
    assert (per["ORG"]["n_gold"], per["ORG"]["n_pred"], per["ORG"]["f1"]) == (1, 2, 0.0)
    assert (per["LOC"]["n_gold"], per["LOC"]["n_pred"], per["LOC"]["f1"]) == (2, 0, 0.0)
    ps, ur = res["per_language"]["pashto"]["overall"], res["per_language"]["urdu"]["overall"]
    assert (ps["n_gold"], ps["n_pred"], ps["n_correct"]) == (3, 4, 1)
    assert ps["f1"] == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3))
    assert (ur["n_gold"], ur["n_pred"], ur["f1"]) == (1, 0, 0.0)


def test_confusion_matrix_of_spans():
    conf = compute_metrics(GOLD, PRED)["confusion"]
    cell = {(r, c): conf["matrix"][i][j] for i, r in enumerate(conf["rows"]) for j, c in enumerate(conf["columns"])}
    expected = {("PER", "PER"): 1, ("LOC", "ORG"): 1, ("ORG", MISSED): 1, ("LOC", MISSED): 1,
                (SPURIOUS, "ORG"): 1, (SPURIOUS, "PER"): 1}
    assert {k: v for k, v in cell.items() if v} == expected


def test_perfect_and_empty_predictions():
    assert compute_metrics(GOLD, GOLD)["overall"]["f1"] == 1.0
    none = compute_metrics(GOLD, [["O"] * len(s) for s in GOLD])["overall"]
    assert (none["precision"], none["recall"], none["f1"], none["n_pred"]) == (0.0, 0.0, 0.0, 0)


def test_every_word_must_be_scored():
    with pytest.raises(ValueError, match="sentence 1: 4 gold tags but 3 predicted"):
        compute_metrics(GOLD, [PRED[0], PRED[1][:3], PRED[2]])
    with pytest.raises(ValueError, match="3 gold sentences but 2 predicted"):
        compute_metrics(GOLD, PRED[:2])


def test_save_results_and_table(tmp_path):
    res = compute_metrics(GOLD, PRED, LANGS)
    path = save_results(tmp_path / "out", test=res, model="m")
    assert path == tmp_path / "out" / "results.json"
    back = json.loads(path.read_text())
    assert back["test"]["overall"]["f1"] == pytest.approx(0.25) and back["model"] == "m"
    table = format_table(res)
    assert "pashto" in table and "urdu" in table
    row = next(line for line in table.splitlines() if line.startswith("all") and " PER " in line)
    assert row.split()[2:5] == ["50.00", "100.00", "66.67"]
