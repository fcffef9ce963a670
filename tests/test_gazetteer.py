"""The train-split gazetteer baseline: which entries it keeps, how it tags, how it fills a model's gaps."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubkit.evaluation.gazetteer import (GAZETTEER_FILE, GazetteerError, StoredGazetteers, build_gazetteer,
                                         fill_from_gazetteer, load_gazetteers, override_outside_longer_entities,
                                         override_with_gazetteer, save_gazetteers, tag_sentence)
from hubkit.evaluation.gazetteer_fill import choose_language, render

TRAIN = [
    (["Ali", "Khan", "went", "to", "Lahore"], ["B-PER", "I-PER", "O", "O", "B-LOC"]),
    (["Lahore", "is", "big"], ["B-LOC", "O", "O"]),
    (["Ali", "said", "so"], ["B-PER", "O", "O"]),
    # "Punjab" is an entity once in three occurrences: below the share, it stays out
    (["Punjab", "Punjab", "Punjab", "University"], ["O", "O", "B-ORG", "I-ORG"]),
]


def test_gazetteer_keeps_words_mostly_tagged_as_entities():
    gazetteer = build_gazetteer(TRAIN)
    assert gazetteer[("Ali", "Khan")] == "PER"
    assert gazetteer[("Lahore",)] == "LOC"
    assert gazetteer[("Punjab", "University")] == "ORG"
    # "Ali" is an entity on its own once in its two occurrences (the other is inside "Ali Khan"): 50%, not above
    assert ("Ali",) not in gazetteer
    assert ("Punjab",) not in gazetteer
    assert ("Ali",) in build_gazetteer(TRAIN, min_share=0.4)


def test_gazetteer_entry_takes_its_most_frequent_type():
    train = [(["Quetta"], ["B-LOC"]), (["Quetta"], ["B-LOC"]), (["Quetta"], ["B-ORG"])]
    assert build_gazetteer(train) == {("Quetta",): "LOC"}


def test_tagging_prefers_the_longest_match():
    gazetteer = {("Ali",): "PER", ("Ali", "Khan"): "PER", ("Khan", "Market"): "LOC"}
    assert tag_sentence(["Ali", "Khan", "Market"], gazetteer) == ["B-PER", "I-PER", "O"]
    assert tag_sentence(["see", "Khan", "Market"], gazetteer) == ["O", "B-LOC", "I-LOC"]
    assert tag_sentence(["Ali", "Khan"], gazetteer, max_words=1) == ["B-PER", "O"]


def test_fill_keeps_the_model_and_adds_only_untouched_matches():
    gazetteer = {("Lahore",): "LOC", ("Ali", "Khan"): "PER"}
    tokens = ["Ali", "Khan", "in", "Lahore"]
    model = ["B-ORG", "O", "O", "O"]  # the model's ORG overlaps the PER entry: the model wins
    assert fill_from_gazetteer(tag_sentence(tokens, gazetteer), model) == ["B-ORG", "O", "O", "B-LOC"]


def test_override_replaces_the_model_entities_a_match_overlaps_and_keeps_the_rest():
    gazetteer = {("Ali", "Khan"): "PER"}
    tokens = ["Ali", "Khan", "Market", "in", "Quetta"]
    model = ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]  # the ORG overlaps the PER entry: the whole ORG goes
    found = tag_sentence(tokens, gazetteer)
    assert override_with_gazetteer(found, model) == ["B-PER", "I-PER", "O", "O", "B-LOC"]
    assert fill_from_gazetteer(found, model) == model


# Imran Khan founded Pakistan Tehreek-e-Insaf (Shahmukhi): the party's name holds a place's
PTI_LINE = "عمران خان نے پاکستان تحریک انصاف دی بنیاد رکھی".split()
PTI_MODEL = ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O", "O"]


def test_override_nested_keeps_the_models_longer_entity_around_a_match():
    gazetteer = {("پاکستان",): "LOC", ("عمران", "خان"): "PER"}
    found = tag_sentence(PTI_LINE, gazetteer)
    assert override_with_gazetteer(found, PTI_MODEL)[3:6] == ["B-LOC", "O", "O"]  # the ORG is lost
    assert override_outside_longer_entities(found, PTI_MODEL) == PTI_MODEL


def test_override_nested_still_overrides_what_is_not_nested():
    tokens = ["Ali", "Khan", "Market", "in", "Quetta"]
    gazetteer = {("Ali", "Khan"): "PER", ("Market", "in"): "LOC", ("Quetta",): "LOC"}
    # as long as the match (retyped), crossing it, or shorter than it: the match wins each time
    for model, expected in [(["B-ORG", "I-ORG", "O", "O", "B-ORG"], ["B-PER", "I-PER", "B-LOC", "I-LOC", "B-LOC"]),
                            (["O", "B-ORG", "I-ORG", "O", "O"], ["B-PER", "I-PER", "B-LOC", "I-LOC", "B-LOC"]),
                            (["B-PER", "O", "O", "O", "O"], ["B-PER", "I-PER", "B-LOC", "I-LOC", "B-LOC"])]:
        found = tag_sentence(tokens, gazetteer)
        assert override_outside_longer_entities(found, model) == expected == override_with_gazetteer(found, model)


def test_cli_scores_validation_and_a_model(mini_dataset, tmp_path):
    from hubkit.models.encoders import build_tiny_model

    model = build_tiny_model(cache_dir=tmp_path / "cache")
    out = tmp_path / "gaz.json"
    run = subprocess.run([sys.executable, "-m", "hubkit.experiments.gazetteer_baseline", str(mini_dataset),
                          "--languages", "urdu", "--model", str(model), "--threads", "1", "--out", str(out)],
                         capture_output=True, text=True, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    assert "| urdu | gazetteer |" in run.stdout and "| urdu | model+gazetteer |" in run.stdout
    got = json.loads(out.read_text())
    assert got["split"] == "validation"
    rows = got["languages"]["urdu"]
    assert rows["model+gazetteer"]["recall"] >= rows["model"]["recall"]  # filling only adds entities
    assert 0 <= rows["gazetteer"]["f1"] <= 100


def test_cli_refuses_a_share_of_one_and_names_the_option(mini_dataset):
    run = subprocess.run([sys.executable, "-m", "hubkit.experiments.gazetteer_baseline", str(mini_dataset),
                          "--min_share", "1"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "--min_share" in run.stderr and "Traceback" not in run.stderr


# ----------------------------------------------------------------------------- stored with a model: hubkit gazetteer
URDU_LINE = "کل ثانیہ مرزا پشاور پہنچے"  # ثانیہ مرزا (PER) and پشاور (LOC) are in the mini dataset's train split


@pytest.fixture
def silent_model(tmp_path) -> Path:
    """A writable tiny model whose O bias (20 nats) makes it tag nothing: every entity it outputs is the gazetteer's."""
    import shutil

    from hubkit.evaluation.calibration import CONFIG_KEY
    from hubkit.models.encoders import build_tiny_model

    folder = Path(shutil.copytree(build_tiny_model(cache_dir=tmp_path / "cache"), tmp_path / "model"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, CONFIG_KEY: 20.0}))
    return folder


def _hubkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hubkit.cli", *args], capture_output=True, text=True,
                          env=os.environ | {"HF_HUB_OFFLINE": "1"}, timeout=600)


def test_saved_gazetteers_load_back_per_language(tmp_path):
    gazetteers = {"urdu": {("ثانیہ", "مرزا"): "PER"}, "sindhi": {("ڪراچي",): "LOC"}, "shahmukhi": {("لہور",): "LOC"}}
    save_gazetteers(tmp_path, gazetteers, 6, {"chosen_on": "validation"},
                    {"sindhi": "override", "shahmukhi": "override-nested"})
    assert load_gazetteers(tmp_path) == StoredGazetteers(
        gazetteers, 6, {"urdu": "fill", "sindhi": "override", "shahmukhi": "override-nested"})
    assert load_gazetteers(tmp_path / "elsewhere") is None


def test_a_stored_gazetteer_applies_each_language_in_its_own_mode(tmp_path):
    entries = {("Ali", "Khan"): "PER"}
    (tmp_path / GAZETTEER_FILE).write_text(json.dumps({  # a file from before modes existed: it fills
        "format": "hubkit-gazetteer/1", "max_words": 6, "languages": {"urdu": [[["Ali", "Khan"], "PER"]]}}))
    assert load_gazetteers(tmp_path).modes == {}
    stored = StoredGazetteers({"urdu": entries, "sindhi": entries}, 6, {"sindhi": "override"})
    tokens, model = ["Ali", "Khan", "came"], ["B-LOC", "O", "O"]
    assert stored.apply("urdu", tokens, model) == model == load_gazetteers(tmp_path).apply("urdu", tokens, model)
    assert stored.apply("sindhi", tokens, model) == ["B-PER", "I-PER", "O"]
    assert stored.apply("pashto", tokens, model) == model  # no entries for the language: the model's tags


@pytest.mark.parametrize("body, message", [
    ("{not json", "not a UTF-8 JSON file"),
    ('{"format": "other", "max_words": 6, "languages": {}}', "not a hubkit gazetteer"),
    ('{"format": "hubkit-gazetteer/1", "max_words": 0, "languages": {}}', '"max_words"'),
    ('{"format": "hubkit-gazetteer/1", "max_words": 6, "languages": {"english": []}}', '"languages"'),
    ('{"format": "hubkit-gazetteer/1", "max_words": 6, "languages": {"urdu": [[["a"], "PER"], [["b"], "MISC"]]}}',
     "urdu entry 1: type 'MISC'"),
    ('{"format": "hubkit-gazetteer/1", "max_words": 1, "languages": {"urdu": [[["a", "b"], "PER"]]}}',
     "urdu entry 0: needs 1 to 1 words"),
    ('{"format": "hubkit-gazetteer/1", "max_words": 6, "languages": {"urdu": []}, "modes": {"urdu": "merge"}}',
     '"modes" must map'),
    ('{"format": "hubkit-gazetteer/1", "max_words": 6, "languages": {"urdu": []}, "modes": {"sindhi": "fill"}}',
     '"modes" must map'),
])
def test_a_malformed_gazetteer_names_the_file_and_the_entry(tmp_path, body, message):
    (tmp_path / GAZETTEER_FILE).write_text(body)
    with pytest.raises(GazetteerError, match=message) as err:
        load_gazetteers(tmp_path)
    assert str(tmp_path / GAZETTEER_FILE) in str(err.value)


def _scores(*sentences: list[str], margin: float = 10.0, soft: dict | None = None) -> list:
    """Word log-probabilities that decode to these tags at any O bias below `margin`; `soft` maps
    (sentence, word) to (label, its lead over O in nats): a word the model tags with little conviction."""
    import numpy as np

    from hubkit.data.labels import LABELS

    out = []
    for si, tags in enumerate(sentences):
        s = np.full((len(tags), len(LABELS)), -margin)
        for wi, tag in enumerate(tags):
            s[wi, LABELS.index(tag)] = 0.0
        for (i, wi), (label, lead) in (soft or {}).items():
            if i == si:
                s[wi] = -margin
                s[wi, LABELS.index(label)], s[wi, 0] = 0.0, -lead
        out.append(s)
    return out


VALIDATION = [(["Ali", "Khan", "in", "Lahore"], ["B-PER", "I-PER", "O", "B-LOC"])]


def test_the_choice_keeps_a_share_only_when_filling_beats_the_model():
    missed = _scores(["B-PER", "I-PER", "O", "O"])  # the model misses Lahore: the gazetteer's Lahore helps
    choice = choose_language(TRAIN, VALIDATION, missed)
    assert (choice["mode"], choice["min_share"]) == ("fill", 0.3) and choice["gazetteer"][("Lahore",)] == "LOC"
    assert choice["outside_bias"] == 0.0 and choice["f1"] == 1.0  # every bias ties: the model's own
    assert choice["grid"][0.0]["fill"][0.3] == choice["grid"][0.0]["override"][0.3] == 1.0 > choice["model"]
    perfect = _scores(["B-PER", "I-PER", "O", "B-LOC"])
    assert choose_language(TRAIN, VALIDATION, perfect)["f1"] is None  # a tie keeps the model alone


def test_the_choice_overrides_where_the_model_mistypes_a_training_name():
    mistyped = _scores(["B-ORG", "I-ORG", "O", "B-LOC"])  # filling cannot touch the ORG; overriding retypes it
    choice = choose_language(TRAIN, VALIDATION, mistyped)
    # nothing is nested: override-nested ties override, and a tie goes to the mode that changes less
    assert choice["mode"] == "override-nested" and choice["grid"][0.0]["override"][choice["min_share"]] == 1.0
    assert choice["grid"][0.0]["fill"][choice["min_share"]] == choice["model"] == 0.5


def test_the_choice_lets_a_longer_model_entity_keep_the_name_inside_it():
    train = [(["پاکستان"], ["B-LOC"]), (["عمران", "خان"], ["B-PER", "I-PER"])]
    validation = [(PTI_LINE, PTI_MODEL), (["عمران", "خان", "آیا"], ["B-PER", "I-PER", "O"])]
    scores = _scores(PTI_MODEL, ["B-ORG", "I-ORG", "O"])  # the model mistypes the man in the second line
    choice = choose_language(train, validation, scores)
    assert choice["mode"] == "override-nested" and choice["f1"] == 1.0
    # filling cannot retype the man; plain override retypes him but loses the party's name
    assert max(choice["grid"][0.0]["fill"].values()) < 1.0 and max(choice["grid"][0.0]["override"].values()) < 1.0


def test_the_bias_and_the_gazetteer_are_chosen_together():
    # "in" is a weak ORG (1.4 nats over O) and Lahore is missed: the gazetteer restores Lahore, and only
    # an O bias above 1.4 removes the false ORG, so neither alone reaches F1 1
    scores = _scores(["B-PER", "I-PER", "O", "O"], soft={(0, 2): ("B-ORG", 1.4)})
    choice = choose_language(TRAIN, VALIDATION, scores, model_bias=0.5)
    assert (choice["outside_bias"], choice["mode"], choice["f1"]) == (1.5, "fill", 1.0)  # the nearest bias that works
    assert max(choice["grid"][0.5]["fill"].values()) < 1.0 and max(r["alone"] for r in choice["grid"].values()) < 1.0
    table = render({"urdu": choice})  # each way's best cell is the one the tie rule keeps
    assert len({line.count("|") for line in table.splitlines()}) == 1  # a markdown table: as many cells in every row
    assert "| 50.00 (O bias 0.5) | 66.67 (O bias 1.5) | 100.00 (O bias 1.5, share > 0.3) |" in table
    assert table.rstrip().endswith("| fill, share > 0.3, O bias 1.5, 4 entries |")
    alone_better = _scores(["B-PER", "I-PER", "O", "B-LOC"], soft={(0, 2): ("B-ORG", 1.4)})
    choice = choose_language(TRAIN, VALIDATION, alone_better, model_bias=0.5)
    assert (choice["outside_bias"], choice["mode"], choice["gazetteer"], choice["f1"]) == (1.5, None, None, 1.0)


def test_stored_biases_load_back_and_apply_per_language(tmp_path):
    save_gazetteers(tmp_path, {"urdu": {("Ali",): "PER"}}, 6, {}, {"urdu": "override"}, {"urdu": 2.5, "sindhi": -0.5})
    stored = load_gazetteers(tmp_path)
    assert stored.outside_biases == {"urdu": 2.5, "sindhi": -0.5}  # Sindhi: a bias with no entries
    assert (stored.outside_bias("urdu", 1.0), stored.outside_bias("sindhi", 1.0), stored.outside_bias("pashto", 1.0),
            stored.outside_bias(None, 1.0)) == (2.5, -0.5, 1.0, 1.0)


@pytest.mark.parametrize("biases", ['{"english": 1}', '{"urdu": "high"}', '{"urdu": 99}', '[1]', '{"urdu": true}'])
def test_a_malformed_bias_names_the_file(tmp_path, biases):
    (tmp_path / GAZETTEER_FILE).write_text('{"format": "hubkit-gazetteer/1", "max_words": 6, "languages": {}, '
                                           f'"outside_biases": {biases}}}')
    with pytest.raises(GazetteerError, match='"outside_biases" must map') as err:
        load_gazetteers(tmp_path)
    assert str(tmp_path / GAZETTEER_FILE) in str(err.value)


def test_hubkit_gazetteer_chooses_on_validation_and_tag_and_evaluate_use_it(silent_model, mini_dataset, tmp_path):
    proc = _hubkit("gazetteer", "--model", str(silent_model), "--dataset", str(mini_dataset), "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    stored = json.loads((silent_model / GAZETTEER_FILE).read_text())
    assert stored["chosen_on"] == "validation" and "urdu" in stored["languages"]
    assert stored["modes"]["urdu"] == "fill"  # a model that tags nothing: overriding is no better, the tie fills
    assert str(tmp_path) not in json.dumps(stored)  # no local path in what may be published
    scores = {}
    for extra in ([], ["--no_gazetteer"]):
        out = tmp_path / f"eval{len(extra)}"
        proc = _hubkit("evaluate", "--model", str(silent_model), "--dataset", str(mini_dataset), "--languages", "urdu",
                       "--split", "validation", "--output", str(out), "--threads", "1", *extra)
        assert proc.returncode == 0, proc.stderr
        scores[bool(extra)] = json.loads((out / "results.json").read_text())["validation"]["overall"]["f1"]
    assert scores[True] == 0.0 < scores[False]  # alone the model tags nothing; filled it finds the train names
    text = tmp_path / "in.txt"
    text.write_text(URDU_LINE + "\n", encoding="utf-8")
    tagged = {}
    for extra in ([], ["--no-gazetteer"], ["--language", "sindhi"]):
        proc = _hubkit("tag", str(text), "--model", str(silent_model), "--quiet", "--threads", "1", *extra)
        assert proc.returncode == 0, proc.stderr
        tagged[" ".join(extra)] = json.loads(proc.stdout)["entities"]
    found = {(e["text"], e["type"]) for e in tagged[""]}
    assert {("ثانیہ مرزا", "PER"), ("پشاور", "LOC")} <= found  # language guessed: Urdu
    assert all(URDU_LINE[e["start"]:e["end"]] == e["text"] for e in tagged[""])
    assert tagged["--no-gazetteer"] == [] and tagged["--language sindhi"] == []  # Urdu names only for Urdu text


def test_hubkit_gazetteer_refuses_test_and_a_malformed_file_is_a_clear_error(silent_model, mini_dataset, tmp_path):
    proc = _hubkit("gazetteer", "--model", str(silent_model), "--dataset", str(mini_dataset), "--split", "test")
    assert proc.returncode == 1 and "--split test" in proc.stderr and "Traceback" not in proc.stderr
    assert not (silent_model / GAZETTEER_FILE).exists()
    (silent_model / GAZETTEER_FILE).write_text('{"format": "hubkit-gazetteer/1"}')
    text = tmp_path / "in.txt"
    text.write_text(URDU_LINE + "\n", encoding="utf-8")
    proc = _hubkit("tag", str(text), "--model", str(silent_model), "--quiet")
    assert proc.returncode == 1 and GAZETTEER_FILE in proc.stderr and "Traceback" not in proc.stderr


def test_the_tagger_refuses_a_language_it_has_no_gazetteer_name_for(silent_model):
    from hubkit.serve.tagger import Tagger

    with pytest.raises(ValueError, match="'english' is not one of urdu"):
        Tagger.from_pretrained(str(silent_model), language="english")
    assert Tagger.from_pretrained(str(silent_model), language="urdu").language == "urdu"


def test_hubkit_tag_overrides_a_model_that_tags_everything_where_the_file_says_so(silent_model, tmp_path):
    from hubkit.evaluation.calibration import CONFIG_KEY

    config = json.loads((silent_model / "config.json").read_text())
    (silent_model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: -20.0}))  # every word an entity
    text = tmp_path / "in.txt"
    text.write_text(URDU_LINE + "\n", encoding="utf-8")
    found = {}
    for mode in ("fill", "override"):
        save_gazetteers(silent_model, {"urdu": {("ثانیہ", "مرزا"): "PER", ("پشاور",): "LOC"}}, 6, {}, {"urdu": mode})
        proc = _hubkit("tag", str(text), "--model", str(silent_model), "--quiet", "--threads", "1")
        assert proc.returncode == 0, proc.stderr
        found[mode] = {(e["text"], e["type"], e["start"], e["end"]) for e in json.loads(proc.stdout)["entities"]}
    names = {("ثانیہ مرزا", "PER", 3, 13), ("پشاور", "LOC", 14, 19)}
    assert all(URDU_LINE[start:end] == words for words, _, start, end in names)
    assert names <= found["override"] and not names & found["fill"]


def test_hubkit_tag_decodes_each_language_with_its_stored_bias_unless_one_is_given(silent_model, tmp_path):
    save_gazetteers(silent_model, {}, 6, {}, {}, {"urdu": -20.0})  # no entries: Urdu alone tags every word
    text = tmp_path / "in.txt"
    text.write_text(URDU_LINE + "\n", encoding="utf-8")
    found = {}
    for extra in ([], ["--language", "sindhi"], ["--outside-bias", "20"], ["--no-gazetteer"]):
        proc = _hubkit("tag", str(text), "--model", str(silent_model), "--quiet", "--threads", "1", *extra)
        assert proc.returncode == 0, proc.stderr
        found[" ".join(extra)] = json.loads(proc.stdout)["entities"]
    assert found[""] and all(URDU_LINE[e["start"]:e["end"]] == e["text"] for e in found[""])
    assert found["--language sindhi"] == found["--outside-bias 20"] == found["--no-gazetteer"] == []


def test_each_sentence_is_decoded_with_its_languages_bias_then_its_entries():
    from datasets import Dataset

    from hubkit.data.loading import LANG_COLUMN
    from hubkit.evaluation.predict import decode_with_gazetteer

    ds = Dataset.from_dict({"tokens": [["Ali", "in", "Lahore"]] * 3, LANG_COLUMN: ["urdu", "sindhi", "pashto"]})
    weak = _scores(["B-PER", "O", "O"], soft={(0, 0): ("B-PER", 1.0)}) * 3  # Ali is PER by 1 nat
    stored = StoredGazetteers({"sindhi": {("Lahore",): "LOC"}}, 6, {}, {"urdu": 2.0, "sindhi": 0.5})
    got = decode_with_gazetteer(ds, weak, True, 0.0, stored)
    assert got == [["O", "O", "O"], ["B-PER", "O", "B-LOC"], ["B-PER", "O", "O"]]  # urdu 2, sindhi 0.5 + entries, pashto 0
    assert decode_with_gazetteer(ds, weak, True, 3.0, stored.at_bias(3.0)) == [["O", "O", "O"], ["O", "O", "B-LOC"],
                                                                                ["O", "O", "O"]]
    assert stored.at_bias(None) is stored
