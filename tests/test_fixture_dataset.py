"""The committed fixture dataset (tests/fixtures/pakner-mini): reproducible from tests/fixture_dataset.py,
laid out like build/pakner, loadable by the trainer's loader, each language in its own letters."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from hubkit.data.corpora import features
from hubkit.data.labels import LABELS
from hubkit.data.loading import load_ner_data
from tests.conftest import FIXTURE_DATASET, REPO_ROOT
from tests.fixture_dataset import ALPHABETS, LANGUAGES, MARKERS, write_fixture

REAL_BUILD = REPO_ROOT / "build" / "pakner"
LANGS = list(LANGUAGES)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _card(folder: Path) -> dict:
    return yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def test_the_committed_fixture_is_what_the_generator_writes(tmp_path):
    fresh = write_fixture(tmp_path / "pakner-mini")
    assert _files(fresh) == _files(FIXTURE_DATASET)
    assert (fresh / "README.md").read_bytes() == (FIXTURE_DATASET / "README.md").read_bytes()
    for name in _files(fresh):
        if name.endswith(".parquet"):
            # rows, schema and the `datasets` features stored in it (bytes may differ across pyarrow versions)
            a, b = pq.read_table(fresh / name), pq.read_table(FIXTURE_DATASET / name)
            assert a.equals(b, check_metadata=True), name
    total = sum(p.stat().st_size for p in FIXTURE_DATASET.rglob("*") if p.is_file())
    assert total < 200_000, f"the fixture should stay small: {total} bytes"


def test_the_layout_is_the_real_builds():
    card = _card(FIXTURE_DATASET)
    splits = {c["config_name"]: [d["split"] for d in c["data_files"]] for c in card["configs"]}
    assert splits == {**{lang: ["train", "validation", "test"] for lang in LANGS},
                      "pashto": ["train", "validation", "test", "test_reviewed"],
                      "shahmukhi": ["train", "validation", "test", "validation_paper"], "all": ["train", "validation", "test"]}
    for c in card["configs"]:
        for d in c["data_files"]:
            assert d["path"] == f"{c['config_name']}/{d['split']}-*.parquet"
            assert list((FIXTURE_DATASET / c["config_name"]).glob(f"{d['split']}-*.parquet"))
    assert [c["config_name"] for c in card["configs"] if c.get("default")] == ["all"]
    info = {i["config_name"]: i for i in card["dataset_info"]}
    assert all(i["features"] == features()._to_yaml_list() for i in info.values())
    if not REAL_BUILD.is_dir():
        pytest.skip("build/pakner not built: the comparison with the real layout needs it")
    real = _card(REAL_BUILD)
    real_splits = {c["config_name"]: [d["split"] for d in c["data_files"]] for c in real["configs"]}
    assert {name: real_splits[name] for name in splits} == splits
    real_info = {i["config_name"]: i for i in real["dataset_info"]}
    assert all(real_info[name]["features"] == info[name]["features"] for name in splits)
    assert set(card) <= set(real)  # no card field the real one lacks


def test_the_trainers_loader_reads_every_language_with_entities_of_each_type():
    data = load_ner_data(str(FIXTURE_DATASET), ["all"], splits=["train", "validation", "test"])
    for split, by_lang in data.items():
        assert list(by_lang) == LANGS
        for lang, ds in by_lang.items():
            assert len(ds) >= (40 if split == "train" else 10), (split, lang)
            assert ds.features["ner_tags"].feature.names == LABELS
            assert set(ds["lang"]) == {lang}
            tags = [LABELS[t] for row in ds["ner_tags"] for t in row]
            assert {t for t in tags if t.startswith("B-")} == {"B-PER", "B-LOC", "B-ORG"}, (split, lang)
            assert any(not any(row) for row in ds["ner_tags"]), "some sentences without an entity"
            assert max(len(t) for t in ds["tokens"]) > 16, "long sentences, for the window tests"
            for row in ds["ner_tags"]:  # valid BIO: an I- continues an entity of its type
                for prev, tag in zip([0] + row, row):
                    if LABELS[tag].startswith("I-"):
                        assert LABELS[prev][2:] == LABELS[tag][2:], [LABELS[t] for t in row]
    assert len(set(data["test"]["pashto"]["id"]) | set(data["train"]["pashto"]["id"])) == \
        len(data["test"]["pashto"]) + len(data["train"]["pashto"])


def test_each_language_is_written_in_its_own_letters():
    import datasets

    for lang in LANGS:
        dd = datasets.load_dataset(str(FIXTURE_DATASET), lang)
        chars = set()
        for split in dd.values():
            for tokens in split["tokens"]:
                for token in tokens:
                    outside = set(token) - ALPHABETS[lang]
                    assert not outside, f"{lang} word {token!r} has {sorted(outside)}"
                    chars |= set(token)
        assert set(MARKERS[lang]) <= chars, f"{lang} lacks {set(MARKERS[lang]) - chars}"
        # the letters only another language has never turn up here
        foreign = set().union(*(ALPHABETS[o] for o in LANGS if o != lang)) - ALPHABETS[lang]
        assert foreign and not chars & foreign
    assert "ڪ" not in ALPHABETS["urdu"] and "ہ" not in ALPHABETS["sindhi"] and "ے" not in ALPHABETS["pashto"]
    assert "ښ" not in ALPHABETS["shahmukhi"] and "ی" not in ALPHABETS["sindhi"] and "ه" not in ALPHABETS["urdu"]


def test_no_sentence_is_copied_from_the_real_build():
    if not REAL_BUILD.is_dir():
        pytest.skip("build/pakner not built")
    real = set()
    for lang in LANGS:
        for f in (REAL_BUILD / lang).glob("*.parquet"):
            real |= {tuple(t) for t in pq.read_table(f, columns=["tokens"]).column("tokens").to_pylist()}
    mine = set()
    for lang in LANGS:
        for f in (FIXTURE_DATASET / lang).glob("*.parquet"):
            mine |= {tuple(t) for t in pq.read_table(f, columns=["tokens"]).column("tokens").to_pylist()}
    assert real and mine and not mine & real
