"""The ORG/pakner-aug repo folder on the real Pashto corpus, ranked by a real (tiny) model."""

import datasets
import pytest

from hubkit.data.build import build_pakner
from hubkit.augment.build_aug import build_pakner_aug
from hubkit.models.encoders import resolve_model

BASE_COLUMNS = ["id", "tokens", "ner_tags", "lang", "source"]


@pytest.fixture(scope="module")
def built(real_data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("aug")
    pakner = root / "pakner"
    build_pakner(real_data_dir, pakner, corpus_names=["pashto-wikiann"], progress=False)
    train = datasets.load_dataset(str(pakner), "pashto", split="train")
    model = resolve_model("tiny", cache_dir=root / "models", sentences=[" ".join(t) for t in train["tokens"]])
    summary = build_pakner_aug(pakner, root / "pakner-aug", model=model, languages=["pashto"],
                               cache_dir=root / "vectors", progress=False)
    return pakner, root / "pakner-aug", summary


def _rows(ds):
    return ds.select_columns(BASE_COLUMNS).to_list()


def test_train_is_originals_plus_kept_candidates(built):
    pakner, aug, summary = built
    original = datasets.load_dataset(str(pakner), "pashto", split="train")
    dd = datasets.load_dataset(str(aug), "pashto")
    train = dd["train"]
    assert _rows(train.select(range(100))) == _rows(original)
    new = train.select(range(100, len(train)))
    assert len(new) == summary["kept"]["pashto"]["train"] > 0
    assert set(new["mode"]) == {"cluster"} and set(new["orig_id"]) <= set(original["id"])
    assert len(set(new["orig_id"])) == len(new)  # x1: at most one per sentence
    assert all(score is not None for score in new["rank_score"])
    assert all(rep for rep in new["replacements"])
    assert set(dd) == {"train", "train_x2", "train_all_correct", "train_random", "validation", "test", "test_reviewed"}


def test_policies_keep_what_they_say(built):
    _, aug, _ = built
    dd = datasets.load_dataset(str(aug), "pashto")
    x1 = dd["train"].filter(lambda r: r["mode"] != "original")
    x2 = dd["train_x2"].filter(lambda r: r["mode"] != "original")
    correct = dd["train_all_correct"].filter(lambda r: r["mode"] != "original")
    assert len(x1) <= len(x2) <= 2 * len(x1)
    assert set(x1["id"]) <= set(x2["id"])
    assert all(score == 1.0 for score in correct["rank_score"])
    # the best candidate of a sentence is never worse than its second
    by_sentence = {}
    for row in x2:
        by_sentence.setdefault(row["orig_id"], []).append(row["rank_score"])
    best = dict(zip(x1["orig_id"], x1["rank_score"]))
    assert all(best[o] == max(scores) for o, scores in by_sentence.items())
    assert set(dd["train_random"].filter(lambda r: r["mode"] != "original")["mode"]) == {"random"}


def test_evaluation_splits_are_pakners(built):
    pakner, aug, _ = built
    base = datasets.load_dataset(str(pakner), "pashto")
    dd = datasets.load_dataset(str(aug), "pashto")
    for split in ("validation", "test", "test_reviewed"):
        assert _rows(dd[split]) == _rows(base[split])
        assert set(dd[split]["mode"]) == {"original"}
    assert dd["validation"].features["ner_tags"] == base["validation"].features["ner_tags"]


def test_card_records_the_method(built):
    _, aug, _ = built
    card = (aug / "README.md").read_text(encoding="utf-8")
    assert "config_name: pashto" in card and "split: train_x2" in card
    assert "Ranking model" in card and "silhouette" in card
