"""results/flagship/RESULTS.md from the seed folders' results.json, and the validation-only recipe search."""

import json
from pathlib import Path

from hubkit.experiments import flagship_report
from hubkit.experiments.flagship_report import LANGS


def _scores(f1: dict[str, float]) -> dict:
    block = lambda v: {"overall": {"precision": v, "recall": v, "f1": v, "n_gold": 10, "n_pred": 10},
                       "per_type": {t: {"precision": v, "recall": v, "f1": v} for t in ("LOC", "ORG", "PER")}}
    return {"overall": block(sum(f1.values()) / len(f1))["overall"], "per_language": {l: block(v) for l, v in f1.items()}}


def _run_folder(models: Path, name: str, seed: int, val: float, test: float, without_breakdown: bool = False,
                **setup) -> Path:
    folder = models / name
    folder.mkdir(parents=True)
    base = {"seed": seed, "base_model": "e5-small-pakner-vocab", "policy": None, "sampling_temperature": None,
            "keep_sentences_without_entities": 0.1, "learning_rate": 1e-4, "num_train_epochs": 3,
            "per_device_train_batch_size": 16, "warmup_ratio": 0.1, "freeze_word_embeddings": False,
            "train_sentences": 100, "epochs_run": 2, "optimizer_steps": 20, "train_words_per_second": 100.0,
            "mixed_precision": "no", "cpu_threads": 2, "best_epoch": 1}
    results = {"setup": {**base, **setup}, "history": [{"validation_f1": val - 0.1}, {"validation_f1": val}],
               "validation": _scores({l: val for l in LANGS}), "test": _scores({l: test for l in LANGS})}
    (folder / "results.json").write_text(json.dumps(results))
    extra = {"pashto_test_reviewed": _scores({"pashto": test}) | {"overall": _scores({"pashto": test})["per_language"]["pashto"]["overall"]},
             "test_argmax": _scores({l: test for l in LANGS}),
             "test_sentences": {l: {"sentences": 100, "without_entities": 70, "tagged_without_entities": 7 * seed,
                                    "predicted": 60, "predicted_in_sentences_without_entities": 6 * seed,
                                    "f1_sentences_with_entities": 100 * test + 5} for l in LANGS},
             "test_novelty": {l: {t: {"gold": 50, "seen": 10 * seed, "recall_seen": 90.0, "recall_new": 20.0 * seed}
                                  for t in ("LOC", "ORG", "PER")} for l in LANGS}}
    if without_breakdown:  # scored before the breakdown existed
        del extra["test_sentences"]
    (folder / "extra_results.json").write_text(json.dumps(extra))
    return folder


def test_results_list_the_seeds_and_the_search_by_validation_only(tmp_path):
    models = tmp_path / "models"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.6111)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.6333)
    _run_folder(models, "pakner-e5-small-search-t2-seed1", 1, 0.75, 0.9876, sampling_temperature=2.0)
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert "| urdu | 62.22 ± 1.57 |" in text  # mean ± std of the two seeds' test F1
    search = text[text.index("## Recipe search"):]
    assert "| t2 | 1 | sampling_temperature 2.0 | 75.00 | 75.00 | 75.00 | 75.00 | 75.00 |" in search
    assert "| released | 1 | - | 70.00 |" in search and "| released | 2 |" not in search
    assert "98.76" not in text  # a candidate's test score is never shown
    saved = json.loads((tmp_path / "out" / "seeds.json").read_text())
    assert saved["search"][0]["changed"] == {"sampling_temperature": 2.0} and "test" not in json.dumps(saved["search"])


def test_which_sentences_counts_false_positives_where_the_gold_has_no_entity(tmp_path):
    gold = [["O", "O"], ["B-PER", "O"], ["O", "O"], ["B-LOC", "I-LOC"]]
    pred = [["B-ORG", "O"], ["B-PER", "O"], ["O", "O"], ["B-LOC", "O"]]
    got = flagship_report.sentence_breakdown(gold, pred)
    assert got == {"sentences": 4, "without_entities": 2, "predicted": 3, "tagged_without_entities": 1,
                   "predicted_in_sentences_without_entities": 1, "f1_sentences_with_entities": 50.0}
    models = tmp_path / "models"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.62)
    _run_folder(models, "pakner-e5-small-seed3", 3, 0.72, 0.62, without_breakdown=True)
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    # 70 empty sentences, 7 and 14 of them tagged (mean 10.5 = 15.0%); 6 and 12 of 60 predictions (15.0%)
    assert "## Which sentences (test, Viterbi, seeds 1, 2)" in text
    assert "| urdu | 100 | 70 | 15.0% | 15.0% | 61.00 | 66.00 |" in text


def test_novelty_splits_test_mentions_into_seen_in_train_and_new():
    from hubkit.evaluation.novelty import novelty, seen_entities

    train = seen_entities([(["Ali", "went", "to", "Lahore"], ["B-PER", "O", "O", "B-LOC"])])
    tokens = [["Ali", "and", "Sara"], ["Lahore", "Board", "Lahore"]]
    gold = [["B-PER", "O", "B-PER"], ["B-ORG", "I-ORG", "B-LOC"]]
    pred = [["B-PER", "O", "O"], ["B-LOC", "O", "B-LOC"]]  # Ali and the second Lahore found; Sara and the ORG missed
    got = novelty(train, tokens, gold, pred)
    assert got["PER"] == {"gold": 2, "seen": 1, "recall_seen": 100.0, "recall_new": 0.0}
    assert got["ORG"] == {"gold": 1, "seen": 0, "recall_seen": 0.0, "recall_new": 0.0}  # same words as a LOC: not seen
    assert got["LOC"]["seen"] == 1 and got["LOC"]["recall_seen"] == 100.0
    assert novelty(train, tokens, gold)["PER"] == {"gold": 2, "seen": 1}


def test_results_show_recall_on_seen_and_new_entities(tmp_path):
    models = tmp_path / "models"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.62)
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Entities seen in training against new ones (test, Viterbi, seeds 1, 2)" in text
    assert "| sindhi | ORG | 50 | 20.0% | 90.00 | 30.00 |" in text  # seen counted from seed 1; recall on new: mean of 20, 40


def test_seeds_whose_folders_are_gone_come_back_from_the_committed_seeds_json(tmp_path):
    """A new machine has results/flagship/seeds.json but not the weights: the seeds scored on an
    earlier machine stay in RESULTS.md beside a new search run, and a seed of another recipe does not."""
    import shutil

    models, out = tmp_path / "models", tmp_path / "out"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.6111)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.6333)
    assert flagship_report.main([str(models), str(out)]) == 0
    before = (out / "RESULTS.md").read_text(encoding="utf-8")
    shutil.rmtree(models)
    _run_folder(models, "pakner-e5-small-search-keep03-seed1", 1, 0.75, 0.99, keep_sentences_without_entities=0.3)
    assert flagship_report.main([str(models), str(out)]) == 0
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    assert "| urdu | 62.22 ± 1.57 |" in text and before.split("## Recipe search")[0] in text
    assert "| keep03 | 1 | keep_sentences_without_entities 0.3 | 75.00 |" in text and "| released | 1 | - | 70.00 |" in text
    shutil.rmtree(models)
    _run_folder(models, "pakner-e5-small-seed3", 3, 0.80, 0.80, learning_rate=5e-5)  # a new recipe's first seed
    assert flagship_report.main([str(models), str(out)]) == 0
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    assert "Seeds: 3 (1)." in text and "| urdu | 80.00 (1 seed) |" in text


def _calibrate_folder(folder: Path, bias: float, val: float, test_with_bias: float, cached_bias: float | None) -> None:
    """Make a _run_folder look calibrated after training: config bias, calibration.json, and
    (cached_bias not None) a test pass cached at that bias."""
    (folder / "config.json").write_text(json.dumps({"hubkit_outside_bias": bias}))
    grid = [{"bias": b, "f1": {l: (val if b == bias else val - 0.05) for l in LANGS}, "mean": 0.0} for b in (0.0, bias)]
    (folder / "calibration.json").write_text(json.dumps({"split": "validation", "outside_bias": bias, "grid": grid}))
    extra = json.loads((folder / "extra_results.json").read_text())
    extra["test_without_bias"] = extra["test_argmax"]
    extra["test_viterbi"] = _scores({l: test_with_bias for l in LANGS})
    if cached_bias is not None:
        extra["outside_bias"] = cached_bias
    (folder / "extra_results.json").write_text(json.dumps(extra))


def test_a_folder_calibrated_after_training_is_reported_as_it_decodes(tmp_path):
    models = tmp_path / "models"
    folder = _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60)
    _calibrate_folder(folder, 1.0, 0.74, 0.65, cached_bias=1.0)
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    # test at the bias (65), not results.json's (60); validation from calibration.json (74), not 70
    assert "| urdu | 65.00 (1 seed) | ≥ 94 | - | - | 74.00 (1 seed) |" in text
    assert "| urdu | 60.00 (1 seed) | 65.00 (1 seed) | +5.00 |" in text and "Bias chosen: seed 1: 1." in text


def test_a_test_pass_cached_before_the_calibration_is_scored_again(tmp_path, monkeypatch):
    models = tmp_path / "models"
    folder = _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60)
    _calibrate_folder(folder, 1.0, 0.74, 0.65, cached_bias=None)  # cached when the bias was 0
    calls = []
    again = _scores({l: 0.66 for l in LANGS})
    monkeypatch.setattr(flagship_report, "_test_pass", lambda f, d: calls.append(f) or {
        "test_viterbi": again, "outside_bias": 1.0, "test_argmax": again, "test_sentences": None,
        "test_without_bias": _scores({l: 0.60 for l in LANGS})})
    monkeypatch.setattr("hubkit.evaluation.predict.evaluate_model", lambda *a, **k: again["per_language"]["pashto"])
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    assert calls == [folder]
    assert json.loads((folder / "extra_results.json").read_text())["outside_bias"] == 1.0
    assert "| urdu | 66.00 (1 seed) |" in (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")


def test_a_folder_calibrated_again_after_training_reports_the_later_choice(tmp_path):
    """Training chose bias 1.0 on one validation split; `hubkit calibrate` later chose 1.5 on a corrected one."""
    models = tmp_path / "models"
    folder = _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60, calibrate_outside_bias=True)
    results = json.loads((folder / "results.json").read_text())
    grid = [{"bias": b, "f1": {l: 0.70 for l in LANGS}, "mean": 0.70} for b in (0.0, 1.0)]
    results["calibration"] = {"outside_bias": 1.0, "grid": grid}
    (folder / "results.json").write_text(json.dumps(results))
    _calibrate_folder(folder, 1.5, 0.72, 0.63, cached_bias=1.5)
    seed = flagship_report.seed_numbers(folder, "unused")
    assert seed["calibration"]["outside_bias"] == 1.5 and seed["validation_f1"]["urdu"] == 72.0
    assert seed["test_f1"]["urdu"] == 63.0 and seed["setup"]["calibrated_after_training"] is True


def test_novelty_by_language_reads_each_language_train_split(mini_dataset):
    """On the committed mini dataset, gold as the prediction: every test mention counted once per
    language, seen ones matched against that language's own train split, all of them found."""
    from hubkit.data.labels import LABELS, entity_spans
    from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data

    test = concat(load_ner_data(str(mini_dataset), list(LANGS), splits=["test"])["test"])
    gold = [[LABELS[t] for t in tags] for tags in test["ner_tags"]]
    got = flagship_report.novelty_by_language(str(mini_dataset), test, gold, gold)
    for lang in LANGS:
        n = sum(len(entity_spans(g)) for g, l in zip(gold, test[LANG_COLUMN]) if l == lang)
        assert sum(c["gold"] for c in got[lang].values()) == n
        assert all(c["recall_new"] == 100.0 or c["gold"] == c["seen"] for c in got[lang].values())
        assert all(c["seen"] <= c["gold"] for c in got[lang].values())


def test_a_gazetteer_chosen_after_scoring_is_scored_again_and_reported_beside_the_model_alone(tmp_path, monkeypatch):
    from hubkit.evaluation.gazetteer import save_gazetteers

    models = tmp_path / "models"
    folder = _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.60)  # its cached test pass has no gazetteer
    grid = {"0": {"alone": 67.0, "fill": {"0.3": 68.0}, "override": {"0.3": 69.0}},
            "2.5": {"alone": 66.0, "fill": {"0.3": 68.5}, "override": {"0.3": 70.5}}}
    choices = {"shahmukhi": {"outside_bias": 2.5, "mode": "override", "min_share": 0.3, "model_bias": 0.0,
                             "model_f1": 67.0, "f1": 70.5, "grid": grid},
               "pashto": {"outside_bias": None, "mode": None, "min_share": None, "model_bias": 0.0, "model_f1": 55.0,
                          "f1": None, "grid": grid}}
    save_gazetteers(folder, {"shahmukhi": {("لاہور",): "LOC"}}, 6, {"choices": choices}, {"shahmukhi": "override"},
                    {"shahmukhi": 2.5})
    _run_folder(models, "pakner-e5-small-search-e4-seed1", 1, 0.72, 0.50, num_train_epochs=4)  # validation only
    filled, alone = _scores({l: 0.64 for l in LANGS}), _scores({l: 0.60 for l in LANGS})
    calls = []
    monkeypatch.setattr(flagship_report, "_test_pass", lambda f, d: calls.append(f) or {
        "test_viterbi": filled, "outside_bias": 0.0, "test_argmax": alone, "test_sentences": None,
        "test_without_bias": _scores({l: 0.55 for l in LANGS}), "test_novelty": None,
        "gazetteer": flagship_report.gazetteer_of(f),
        "test_without_gazetteer": alone})
    monkeypatch.setattr("hubkit.evaluation.predict.evaluate_model", lambda *a, **k: filled["per_language"]["pashto"])
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    assert calls == [folder]
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    section = text[text.index("## Gazetteer chosen on validation"):]
    assert "| shahmukhi | override, share > 0.3, O bias 2.5 | 67.00 (1 seed) | 70.50 (1 seed) | 60.00 (1 seed) | 64.00 (1 seed) | +4.00 |" in section
    assert "| pashto | none | - | - |" in section
    # beside test as it tags, validation as it tags; the decoding table compares the model alone both ways
    assert "| shahmukhi | 64.00 (1 seed) | ≥ 76 | 88.06 |" in text and "| 70.50 (1 seed) |\n" in text
    assert "| pashto | 64.00 (1 seed) | ≥ 62 | 88.29 | - | 70.00 (1 seed) |" in text
    assert "| shahmukhi | 60.00 (1 seed) | 60.00 (1 seed) | +0.00 |" in text  # decoding, the model alone
    assert "| shahmukhi | 55.00 (1 seed) | 60.00 (1 seed) | +5.00 |" in text  # the bias, the model alone
    search = text[text.index("## Recipe search"):]
    assert "| released | 1 | - | 70.00 | 70.00 | 70.00 | 70.00 |" in search  # alone, like the candidate below
    assert "| e4 | 1 | num_train_epochs 4 | 72.00 |" in search
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0 and calls == [folder]  # cached now


def test_seeds_from_before_further_configs_existed_are_one_recipe_with_new_ones(tmp_path):
    """Seeds trained before `--further_train_configs` existed record no such key; a seed trained after
    records `[]`: the same recipe. A candidate that adds further configs shows them as its change."""
    models = tmp_path / "models"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.6111)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.6333, further_train_configs=[])
    _run_folder(models, "pakner-e5-small-search-further-seed1", 1, 0.75, 0.99,
                further_train_configs=["urdu-uner", "urdu-jahangir"])
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert "Seeds: 1, 2 (2)." in text and "| urdu | 62.22 ± 1.57 |" in text
    saved = json.loads((tmp_path / "out" / "seeds.json").read_text())
    assert saved["search"][0]["changed"] == {"further_train_configs": ["urdu-uner", "urdu-jahangir"]}
    assert "| further | 1 | further_train_configs urdu-uner urdu-jahangir | 75.00 |" in text


def test_a_candidate_on_the_augmented_dataset_at_equal_steps_shows_both_changes(tmp_path):
    """The augmentation candidate trains on pakner-aug for the release's optimizer steps: the search row
    names the dataset and the step budget, and seeds that record neither stay the released recipe."""
    models = tmp_path / "models"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.6111, dataset="pakner")
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.6333, dataset="pakner", max_steps=None)
    _run_folder(models, "pakner-e5-small-search-aug-seed1", 1, 0.71, 0.99, dataset="pakner-aug", max_steps=20)
    assert flagship_report.main([str(models), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert "Seeds: 1, 2 (2)." in text
    saved = json.loads((tmp_path / "out" / "seeds.json").read_text())
    assert saved["search"][0]["changed"] == {"dataset": "pakner-aug", "max_steps": 20}
    assert "| aug | 1 | dataset pakner-aug, max_steps 20 | 71.00 |" in text


def test_the_search_picture_draws_every_candidate_seed_beside_the_released_seeds(tmp_path):
    from hubkit.experiments.flagship_plot import mean_of_4

    models, out = tmp_path / "models", tmp_path / "out"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.61)
    _run_folder(models, "pakner-e5-small-seed2", 2, 0.72, 0.63)
    _run_folder(models, "pakner-e5-small-search-t2-seed1", 1, 0.75, 0.98, sampling_temperature=2.0)
    _run_folder(models, "pakner-e5-small-search-t2-seed2", 2, 0.71, 0.98, sampling_temperature=2.0)
    assert flagship_report.main([str(models), str(out)]) == 0
    assert (out / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](search.png)" in (out / "RESULTS.md").read_text(encoding="utf-8")
    saved = json.loads((out / "seeds.json").read_text())
    drawn = flagship_report.released_rows(saved["seeds"]) + saved["search"]  # the rows main() draws
    assert [(r["name"], r["seed"], mean_of_4(r)) for r in drawn] == [
        ("released", 1, 70.0), ("released", 2, 72.0), ("t2", 1, 75.0), ("t2", 2, 71.0)]
    assert [r["curve"] for r in drawn[:2]] == [[60.0, 70.0], [62.0, 72.0]]


def test_without_a_search_there_is_no_picture(tmp_path):
    models, out = tmp_path / "models", tmp_path / "out"
    _run_folder(models, "pakner-e5-small-seed1", 1, 0.70, 0.61)
    assert flagship_report.main([str(models), str(out)]) == 0
    assert not (out / "search.png").exists()
    assert "search.png" not in (out / "RESULTS.md").read_text(encoding="utf-8")
