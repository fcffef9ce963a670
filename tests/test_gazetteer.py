"""The train-split gazetteer baseline: which entries it keeps, how it tags, how it fills a model's gaps."""

import json
import os
import subprocess
import sys

from hubkit.evaluation.gazetteer import build_gazetteer, fill_from_gazetteer, tag_sentence

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
    assert fill_from_gazetteer(tokens, model, gazetteer) == ["B-ORG", "O", "O", "B-LOC"]


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
