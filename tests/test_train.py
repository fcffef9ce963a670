"""Training, windows, resume, evaluation and the model card on a small dataset with a tiny model.

The dataset folder is laid out like the Hub repo ORG/pakner (README YAML configs, parquet shards):
built here from the real Pashto WikiANN splits and the first 100 Urdu WikiANN sentences when the
corpora are present, else the committed made-up fixture tests/fixtures/pakner-mini. Tests of the
real sample's own numbers take `real_data_dir` (and skip without the corpora).
"""

import argparse
import json
import math
import re
from pathlib import Path

import datasets
import pytest
import torch
import yaml
from safetensors.torch import load_file

from hubkit.data.loading import load_ner_data
from hubkit.errors import DataError
from hubkit.data.windows import encode_windows
from hubkit.evaluation.predict import evaluate_model, predict_words
from hubkit.data.labels import LABELS
from hubkit.models.encoders import ModelError, load_for_training, load_token_classifier, resolve_model
from hubkit.training.encoder import add_cli, main, parse_args
from tests.hub_fixtures import hub_server  # noqa: F401  (the fixture)

FEATURES = datasets.Features({
    "id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
    "ner_tags": datasets.Sequence(datasets.ClassLabel(names=LABELS)),
    "lang": datasets.Value("string"), "source": datasets.Value("string")})


def write_repo(folder: Path, configs: dict[str, dict[str, datasets.Dataset]]) -> Path:
    """A folder laid out as a Hub dataset repo: <config>/<split>-00000-of-00001.parquet + README configs."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, ds in splits.items():
            (folder / config).mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(folder / config / f"{split}-00000-of-00001.parquet"))
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*.parquet"]
    (folder / "README.md").write_text("\n".join(lines + ["---", ""]), encoding="utf-8")
    return folder


def _from_arrow(path: Path, code: str, split: str, n: int | None) -> datasets.Dataset:
    src = datasets.Dataset.from_file(str(path), in_memory=True)
    if n:
        src = src.select(range(n))
    return datasets.Dataset.from_dict({
        "id": [f"{code}-{split}-{i}" for i in range(len(src))], "tokens": src["tokens"], "ner_tags": src["ner_tags"],
        "lang": [code] * len(src), "source": ["wikiann"] * len(src)}, features=FEATURES)


@pytest.fixture(scope="module")
def pakner_dir(real_data_dir_or_none, mini_dataset, tmp_path_factory) -> Path:
    real_data_dir = real_data_dir_or_none
    if real_data_dir is None:
        return mini_dataset
    folder = tmp_path_factory.mktemp("pakner")
    configs = {
        lang: {split: _from_arrow(real_data_dir / sub / f"{split}.arrow", code, split, n)
               for split in ("train", "validation", "test")}
        for lang, code, sub, n in (("pashto", "ps", "pashto/wikiann", None), ("urdu", "ur", "urdu/wikiann", 100))}
    return write_repo(folder, configs)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


def train_args(pakner_dir, cache_dir, out, *extra) -> list[str]:
    return ["--model_name_or_path", "tiny", "--cache_dir", str(cache_dir), "--dataset", str(pakner_dir),
            "--languages", "pashto", "--output_dir", str(out), "--per_device_train_batch_size", "8",
            "--learning_rate", "3e-3", "--max_length", "64", "--seed", "7", "--cpu_threads", "1", *extra]


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    threads = torch.get_num_threads()  # --cpu_threads 1 (tiny model on a shared CPU) is process-wide
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(pakner_dir, cache_dir, tmp_path_factory) -> Path:
    """pashto + urdu (200 real sentences, or 96 of the fixture), 3 epochs, a checkpoint every 10 steps."""
    out = tmp_path_factory.mktemp("run") / "model"
    args = train_args(pakner_dir, cache_dir, out, "--num_train_epochs", "3", "--checkpointing_steps", "10",
                      "--calibrate_outside_bias")
    args[args.index("pashto")] = "pashto,urdu"
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def pakner_counts(pakner_dir) -> dict:
    """{split: (sentences, entities)} of pashto + urdu in the dataset, counted here from its B- tags."""
    data = load_ner_data(str(pakner_dir), ["pashto", "urdu"])
    begin = {i for i, tag in enumerate(LABELS) if tag.startswith("B-")}
    return {split: (sum(len(ds) for ds in by_lang.values()),
                    sum(t in begin for ds in by_lang.values() for row in ds["ner_tags"] for t in row))
            for split, by_lang in data.items()}


def test_training_loss_falls_and_folder_is_complete(trained, pakner_counts):
    results = json.loads((trained / "results.json").read_text())
    losses = [h["train_loss"] for h in results["history"]]
    assert len(losses) == 3 and losses[-1] < 0.8 * losses[0], losses
    setup = results["setup"]
    n_train = pakner_counts["train"][0]
    assert setup["train_sentences"] == n_train and setup["train_windows"] >= n_train
    assert setup["optimizer_steps"] == 3 * math.ceil(setup["train_windows"] / 8)
    for split in ("validation", "test"):
        assert set(results[split]["per_language"]) == {"pashto", "urdu"}
        assert set(results[split]["per_type"]) == {"PER", "ORG", "LOC"}
        assert results[split]["n_sentences"] == pakner_counts[split][0]
        assert results[split]["overall"]["n_gold"] == pakner_counts[split][1] > 0
    for name in ("model.safetensors", "config.json", "tokenizer.json", "all_results.json", "confusion_matrix.png"):
        assert (trained / name).is_file(), name
    assert not (trained / "best_model").exists()
    flat = json.loads((trained / "all_results.json").read_text())
    assert flat["test_f1"] == results["test"]["overall"]["f1"] and flat["train_words_per_second"] > 0


def test_the_o_bias_is_chosen_on_validation_and_saved_with_the_model(trained):
    results = json.loads((trained / "results.json").read_text())
    choice = results["calibration"]
    config = json.loads((trained / "config.json").read_text())
    assert config["hubkit_outside_bias"] == choice["outside_bias"] and results["setup"]["calibrate_outside_bias"]
    chosen = next(r for r in choice["grid"] if r["bias"] == choice["outside_bias"])
    assert chosen["mean"] == max(r["mean"] for r in choice["grid"])
    val = results["validation"]["per_language"]  # scored after the choice, with the chosen bias
    assert {lang: v["overall"]["f1"] for lang, v in val.items()} == pytest.approx(chosen["f1"])


def test_the_real_sample_has_its_known_size(trained, real_data_dir):
    """On the real sample: Pashto WikiANN + the first 100 Urdu sentences of each split."""
    results = json.loads((trained / "results.json").read_text())
    assert results["setup"]["train_sentences"] == 200 and results["test"]["n_sentences"] == 200
    assert results["test"]["overall"]["n_gold"] == 111 + 102  # Pashto test + first 100 Urdu test entities


def test_saved_model_reloads_and_evaluates_to_the_same_numbers(trained, pakner_dir):
    from transformers import pipeline

    model, tokenizer = load_token_classifier(str(trained))
    assert model.config.id2label == dict(enumerate(LABELS))
    tags = {e["entity"] for e in pipeline("token-classification", model=model, tokenizer=tokenizer)(
        "احمد شاه بابا د افغانستان پاچا و")}
    assert tags <= set(LABELS)
    again = evaluate_model(str(trained), str(pakner_dir), ["pashto", "urdu"], split="test", max_length=64)
    saved = json.loads((trained / "results.json").read_text())["test"]
    assert again["overall"] == pytest.approx(saved["overall"])
    assert again["per_language"]["urdu"]["overall"] == pytest.approx(saved["per_language"]["urdu"]["overall"])


def test_model_card_has_model_index_from_results(trained):
    text = (trained / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    results = json.loads((trained / "results.json").read_text())
    assert meta["language"] == ["ps", "ur"] and meta["pipeline_tag"] == "token-classification"
    assert meta["library_name"] == "transformers"
    entries = meta["model-index"][0]["results"]
    by_lang = {e["dataset"]["config"]: {m["type"]: m["value"] for m in e["metrics"]} for e in entries}
    for lang in ("pashto", "urdu"):
        assert by_lang[lang]["f1"] == pytest.approx(results["test"]["per_language"][lang]["overall"]["f1"], abs=1e-4)
    assert "## Usage" in text and "## Limitations" in text and "confusion_matrix.png" in text
    assert not re.search(r"hf_[A-Za-z0-9]{8,}|Bearer |api[_-]?key|HF_TOKEN", text)


@pytest.fixture(scope="module")
def mid_checkpoint(trained) -> Path:
    """The first checkpoint saved inside an epoch after the first one (on the fixture, 12 steps an epoch:
    step_20)."""
    per_epoch = math.ceil(json.loads((trained / "results.json").read_text())["setup"]["train_windows"] / 8)
    steps = sorted(int(p.name.removeprefix("step_")) for p in (trained / "checkpoints").glob("step_*"))
    mid = [s for s in steps if s > per_epoch and s % per_epoch]
    assert mid, (steps, per_epoch)
    return trained / "checkpoints" / f"step_{mid[0]}"


def test_resume_continues_from_the_same_step_with_identical_results(trained, mid_checkpoint, pakner_dir, cache_dir,
                                                                     tmp_path):
    """Resume from a checkpoint in the middle of the 2nd epoch in a fresh folder: same weights, same scores."""
    ckpt = mid_checkpoint
    step = int(ckpt.name.removeprefix("step_"))
    assert (ckpt / "best_model" / "model.safetensors").is_file()
    out = tmp_path / "resumed"
    args = train_args(pakner_dir, cache_dir, out, "--num_train_epochs", "3", "--resume_from_checkpoint", str(ckpt),
                      "--calibrate_outside_bias")
    args[args.index("pashto")] = "pashto,urdu"
    assert main(args) == 0
    a, b = json.loads((trained / "results.json").read_text()), json.loads((out / "results.json").read_text())
    assert b["setup"]["resumed_from_step"] == step and b["setup"]["optimizer_steps"] == a["setup"]["optimizer_steps"]
    assert step % math.ceil(a["setup"]["train_windows"] / 8) != 0  # really mid-epoch
    assert step < a["setup"]["optimizer_steps"]
    assert a["history"] == b["history"]
    assert a["test"] == b["test"] and a["validation"] == b["validation"]
    wa, wb = load_file(str(trained / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


class _Planted:
    """Unpickling this creates a file: what a crafted custom_checkpoint_0.pkl could do instead."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _resume_cli(args, tmp_path):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "hubkit.training.encoder", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=900)


def test_resume_refuses_a_checkpoint_with_a_planted_pickle_and_runs_none_of_it(mid_checkpoint, pakner_dir, cache_dir,
                                                                                tmp_path):
    """hubkit's loop state is train_state.json; a custom_checkpoint pickle (which accelerate would unpickle
    with weights_only=False) is refused before anything is loaded."""
    import pickle
    import shutil

    ckpt = tmp_path / mid_checkpoint.name
    shutil.copytree(mid_checkpoint, ckpt)
    assert (ckpt / "train_state.json").is_file() and not list(ckpt.glob("custom_checkpoint_*"))
    marker = tmp_path / "code-ran"
    (ckpt / "custom_checkpoint_0.pkl").write_bytes(pickle.dumps(_Planted(marker)))
    out = tmp_path / "resumed"
    proc = _resume_cli(train_args(pakner_dir, cache_dir, out, "--resume_from_checkpoint", str(ckpt)), tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "custom_checkpoint_0.pkl" in proc.stderr and "could run code" in proc.stderr
    assert not marker.exists() and not (out / "results.json").exists()


@pytest.mark.parametrize("damage", ["garbage", "empty-dict"])
def test_a_corrupt_rng_state_stops_the_resume_before_training(mid_checkpoint, pakner_dir, cache_dir, tmp_path, damage):
    import shutil

    ckpt = tmp_path / mid_checkpoint.name
    shutil.copytree(mid_checkpoint, ckpt)
    if damage == "garbage":
        (ckpt / "random_states_0.pkl").write_bytes(b"\x80\x04not a torch file" * 10)
    else:
        torch.save({}, ckpt / "random_states_0.pkl")
    out = tmp_path / "resumed"
    proc = _resume_cli(train_args(pakner_dir, cache_dir, out, "--resume_from_checkpoint", str(ckpt)), tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "random_states_0.pkl" in proc.stderr and "RNG states cannot be read" in proc.stderr
    assert not (out / "results.json").exists()


def test_long_sentences_are_split_into_windows_and_fully_scored(pakner_dir, cache_dir):
    data = load_ner_data(str(pakner_dir), ["pashto"], splits=["test"])["test"]["pashto"]
    model, tokenizer = load_for_training(resolve_model("tiny", cache_dir=cache_dir))
    max_length = 8
    windows = encode_windows(data, tokenizer, max_length)
    assert max(len(ids) for ids in windows["input_ids"]) <= max_length
    assert len(windows) > len(data)  # some sentences needed several windows
    # Each sentence's windows cover its words exactly once, in order; one label per word.
    cover = {}
    for sent, start, n, labels in zip(windows["sentence_idx"], windows["word_start"], windows["n_words"],
                                      windows["labels"]):
        assert start == cover.get(sent, 0)
        cover[sent] = start + n
        assert sum(label != -100 for label in labels) == n
    assert cover == {i: len(toks) for i, toks in enumerate(data["tokens"])}
    preds = predict_words(model, tokenizer, data, batch_size=16, max_length=max_length)
    assert [len(p) for p in preds] == [len(t) for t in data["tokens"]]
    longest = max(range(len(data)), key=lambda i: len(data[i]["tokens"]))
    assert len(data[longest]["tokens"]) > max_length and all(t in LABELS for t in preds[longest])
    # Windows change nothing but context: the same sentence fits in one window with a large budget.
    assert len(encode_windows(data, tokenizer, 512)) == len(data)


def _bad_repo(tmp_path, name, **columns) -> Path:
    ds = datasets.Dataset.from_dict(columns)  # ner_tags as plain ints: range checked row by row
    return write_repo(tmp_path / name, {"pashto": {split: ds for split in ("train", "validation", "test")}})


@pytest.mark.parametrize("case, message", [
    ("no_ner_tags", "missing column(s) ner_tags"),
    ("label_out_of_set", "outside the model's label set"),
    ("other_label_names", "are not the model's label set"),
    ("empty_split", "the split is empty"),
    ("unknown_language", "has no config 'sindhi'"),
])
def test_bad_datasets_fail_before_training(case, message, tmp_path, cache_dir):
    tokens = [["کابل", "ښار"], ["احمد"]]
    if case == "no_ner_tags":
        repo = _bad_repo(tmp_path, case, tokens=tokens)
    elif case == "label_out_of_set":
        repo = _bad_repo(tmp_path, case, tokens=tokens, ner_tags=[[5, 9], [1]])
    elif case == "other_label_names":
        ds = datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": [[1, 0], [1]]}, features=datasets.Features({
            "tokens": FEATURES["tokens"], "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "PER"]))}))
        repo = write_repo(tmp_path / case, {"pashto": {s: ds for s in ("train", "validation", "test")}})
    elif case == "empty_split":
        good = datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": [[5, 0], [1]]})
        repo = write_repo(tmp_path / case, {"pashto": {"train": good, "validation": good.select([]), "test": good}})
    else:
        repo = _bad_repo(tmp_path, case, tokens=tokens, ner_tags=[[5, 0], [1]])
    out = tmp_path / "out"
    args = train_args(repo, cache_dir, out, "--max_steps", "2")
    if case == "unknown_language":
        args[args.index("pashto")] = "sindhi"
    with pytest.raises(SystemExit, match=message.replace("(", r"\(").replace(")", r"\)")):
        main(args)
    assert not (out / "model.safetensors").exists() and not (out / "checkpoints").exists()


def test_bad_models_fail_with_clear_errors(tmp_path, pakner_dir, cache_dir):
    from transformers import LlamaConfig

    causal = tmp_path / "causal"
    LlamaConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                vocab_size=100, architectures=["LlamaForCausalLM"]).save_pretrained(causal)
    with pytest.raises(ModelError, match="causal"):
        load_for_training(str(causal))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        load_token_classifier(str(empty))
    # A base encoder (no token-classification head yet) can be trained but not used as a tagger.
    base = tmp_path / "base"
    tiny = Path(resolve_model("tiny", cache_dir=cache_dir))
    config = json.loads((tiny / "config.json").read_text()) | {"architectures": ["XLMRobertaForMaskedLM"]}
    base.mkdir()
    (base / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="not a token-classification model"):
        load_token_classifier(str(base))
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match="causal"):
        main(["--model_name_or_path", str(causal), "--dataset", str(pakner_dir), "--languages", "pashto",
              "--output_dir", str(out), "--max_steps", "1"])
    assert not (out / "checkpoints").exists()
    with pytest.raises(SystemExit, match="needs --hub_model_id"):
        main(train_args(pakner_dir, cache_dir, out, "--push_to_hub"))


def test_config_file_and_cli_verb(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text("model_name_or_path: tiny\ndataset: ORG/pakner\nlanguages: [shahmukhi, ps]\n"
                   "output_dir: out\nmax_steps: 5\nsampling_temperature: 2.0\n")
    model_args, data_args, train = parse_args([str(cfg)])
    assert (model_args.model_name_or_path, data_args.languages, train.max_steps) == ("tiny", ["shahmukhi", "ps"], 5)
    assert data_args.sampling_temperature == 2.0
    assert model_args.trust_remote_code is False
    parser = argparse.ArgumentParser(prog="hubkit")
    add_cli(parser.add_subparsers(dest="verb"))
    ns = parser.parse_args(["train", "--model_name_or_path", "tiny", "--languages", "all"])
    assert ns.verb == "train" and ns.train_args == ["--model_name_or_path", "tiny", "--languages", "all"]


def test_temperature_sampling_upsamples_the_small_language():
    from hubkit.training.encoder import temperature_sample

    big = datasets.Dataset.from_dict({"tokens": [["a"]] * 90, "ner_tags": [[0]] * 90, "hubkit_lang": ["urdu"] * 90})
    small = datasets.Dataset.from_dict({"tokens": [["b"]] * 10, "ner_tags": [[0]] * 10, "hubkit_lang": ["pashto"] * 10})
    plain = temperature_sample({"urdu": big, "pashto": small}, None, seed=0)
    assert len(plain) == 100 and plain["hubkit_lang"].count("pashto") == 10
    # T=2: p ~ sqrt(0.9), sqrt(0.1) -> 75/25 of 100 sentences; every Pashto sentence at least twice.
    hot = temperature_sample({"urdu": big, "pashto": small}, 2.0, seed=0)
    assert hot["hubkit_lang"].count("pashto") == 25 and hot["hubkit_lang"].count("urdu") == 75
    assert hot.to_list() == temperature_sample({"urdu": big, "pashto": small}, 2.0, seed=0).to_list()


def test_frozen_word_embeddings_stay_as_loaded_and_precision_is_per_call(pakner_dir, tmp_path):
    cache = tmp_path / "cache"  # its own cache: exactly one base model to compare with
    out = tmp_path / "frozen"
    assert main(train_args(pakner_dir, cache, out, "--max_steps", "4", "--freeze_word_embeddings",
                           "--mixed_precision", "bf16")) == 0
    (base,) = [p for p in cache.iterdir() if (p / "model.safetensors").is_file()]
    before, after = load_file(base / "model.safetensors"), load_file(out / "model.safetensors")
    word = [k for k in after if k.endswith("word_embeddings.weight")]
    assert word and all(torch.equal(before[k], after[k]) for k in word)
    moved = [k for k in after if k in before and k not in word and not torch.equal(before[k], after[k])]
    assert any("encoder" in k for k in moved), "the rest of the model should have been trained"
    setup = json.loads((out / "results.json").read_text())["setup"]
    from hubkit.hardware import cpu_has_native_bf16

    # bf16 where the CPU has it; on one without, fp32 with a warning (tests/test_hardware.py)
    assert setup["mixed_precision"] == ("bf16" if cpu_has_native_bf16() else "no")
    assert setup["freeze_word_embeddings"] is True
    assert setup["max_steps"] == 4  # a step budget is part of the recipe (the flagship search compares at equal steps)
    # A second call in the same process does not inherit the first one's bf16.
    assert main(train_args(pakner_dir, cache, tmp_path / "plain", "--max_steps", "1", "--mixed_precision", "no")) == 0
    assert json.loads((tmp_path / "plain" / "results.json").read_text())["setup"]["mixed_precision"] == "no"
    with pytest.raises(SystemExit, match="--mixed_precision must be one of auto, no, fp16, bf16"):
        main(train_args(pakner_dir, cache, tmp_path / "bad", "--mixed_precision", "fp8"))


def test_sentences_without_entities_are_downsampled_and_the_rest_kept():
    from hubkit.training.encoder import drop_sentences_without_entities

    with_entity = [{"tokens": [f"w{i}", "x"], "ner_tags": [1, 0]} for i in range(40)]
    without = [{"tokens": [f"o{i}", "y"], "ner_tags": [0, 0]} for i in range(200)]
    ds = datasets.Dataset.from_list(with_entity + without)
    kept = drop_sentences_without_entities(ds, 0.25, seed=3)
    rows = kept.to_list()
    assert [r for r in rows if any(r["ner_tags"])] == with_entity  # every entity sentence, in order, unchanged
    n_empty = sum(not any(r["ner_tags"]) for r in rows)
    assert 30 <= n_empty <= 70  # ~25% of 200, seeded
    assert kept.to_list() == drop_sentences_without_entities(ds, 0.25, seed=3).to_list()
    assert len(drop_sentences_without_entities(ds, 0.0, seed=3)) == 40
    assert len(drop_sentences_without_entities(ds, 1.0, seed=3)) == 240


def test_policy_picks_the_augmented_training_data(tmp_path):
    def ds(word, n):
        return datasets.Dataset.from_dict({"tokens": [[word]] * n, "ner_tags": [[1]] * n})

    base = {"train": ds("orig", 3), "validation": ds("val", 2), "test": ds("test", 2)}
    repo = write_repo(tmp_path / "aug", {"pashto": base | {"train_cross": ds("split", 4)},
                                         "urdu": base, "urdu-cross": {"train": ds("config", 5)}})
    data = load_ner_data(str(repo), ["pashto", "urdu"], policy="cross")
    assert data["train"]["pashto"]["tokens"] == [["split"]] * 4  # split train_cross of the language config
    assert data["train"]["urdu"]["tokens"] == [["config"]] * 5  # config urdu-cross
    assert data["test"]["urdu"]["tokens"] == [["test"]] * 2  # evaluation from the language config
    with pytest.raises(DataError, match="no training data for policy 'x2'"):
        load_ner_data(str(repo), ["pashto"], policy="x2")


def _further_repo(tmp_path) -> Path:
    """Urdu and Sindhi configs, and a further Urdu config one of whose sentences is in Urdu's test."""
    def ds(sentences, lang):
        return datasets.Dataset.from_dict({
            "id": [f"{lang}/{i}" for i in range(len(sentences))], "tokens": sentences,
            "ner_tags": [[1] + [0] * (len(s) - 1) for s in sentences], "lang": [lang] * len(sentences),
            "source": ["made-up"] * len(sentences)}, features=FEATURES)

    def splits(lang, word):
        return {split: ds([[f"{word}-{split}", "x"]] * 2, lang) for split in ("train", "validation", "test")}

    further = ds([["news", "a"], ["urdu-test", "x"], ["news", "b"]], "ur")  # row 1 is a test sentence of Urdu
    return write_repo(tmp_path / "further", {"urdu": splits("urdu", "urdu"), "sindhi": splits("sindhi", "sindhi"),
                                             "urdu-news": {"train": further, "test": further}})


def test_further_configs_join_their_language_without_evaluation_sentences(tmp_path, caplog):
    from hubkit.data.loading import add_further_training

    repo = str(_further_repo(tmp_path))
    data = load_ner_data(repo, ["urdu", "sindhi"])
    with caplog.at_level("WARNING"):
        train = add_further_training(data["train"], repo, ["urdu-news"], (data["validation"], data["test"]))
    assert train["urdu"]["tokens"] == [["urdu-train", "x"]] * 2 + [["news", "a"], ["news", "b"]]
    assert set(train["urdu"]["hubkit_lang"]) == {"urdu"}  # its `lang` column says `ur`: the config name is used
    assert train["sindhi"]["tokens"] == data["train"]["sindhi"]["tokens"]  # other languages untouched
    assert "urdu-news: 1 training sentence(s) also in a validation or test split, left out: ur/1" in caplog.text
    assert add_further_training(data["train"], repo, [], ()) is data["train"]


@pytest.mark.parametrize("further, languages, message", [
    ("urdu-nope", ["urdu"], "--further_train_configs urdu-nope: dataset .* has no such config"),
    ("sindhi", ["urdu", "sindhi"], "--further_train_configs sindhi: 'sindhi' is a language config"),
    ("urdu-news", ["sindhi"], "--further_train_configs urdu-news: its sentences are in urdu; it can join only one "
                              "language trained here \\(sindhi\\)"),
])
def test_bad_further_configs_fail_before_training(further, languages, message, tmp_path, cache_dir, capsys):
    repo = _further_repo(tmp_path)
    out = tmp_path / "out"
    args = train_args(repo, cache_dir, out, "--max_steps", "2", "--further_train_configs", further)
    args[args.index("--languages") + 1:args.index("--languages") + 2] = languages
    with pytest.raises(SystemExit, match=message):
        main(args)
    assert "training:" not in capsys.readouterr().err and not (out / "model.safetensors").exists()


def test_evaluate_cli(trained, pakner_dir, tmp_path, capsys):
    from hubkit.evaluation.predict import add_cli as add_evaluate

    parser = argparse.ArgumentParser(prog="hubkit")
    add_evaluate(parser.add_subparsers(dest="verb"))
    ns = parser.parse_args(["evaluate", "--model", str(trained), "--dataset", str(pakner_dir), "--languages", "ps",
                            "--max_length", "64", "--output", str(tmp_path / "eval")])
    assert ns.func(ns) == 0
    out = capsys.readouterr().out
    assert "pashto" in out and "urdu" not in out
    res = json.loads((tmp_path / "eval" / "results.json").read_text())
    saved = json.loads((trained / "results.json").read_text())
    assert res["test"]["overall"]["f1"] == pytest.approx(saved["test"]["per_language"]["pashto"]["overall"]["f1"])


def _pashto_train(pakner_dir: Path, n: int) -> datasets.Dataset:
    """The first n Pashto training sentences of the dataset (real WikiANN rows, or the fixture's)."""
    ds = datasets.load_dataset(str(pakner_dir), "pashto", split="train")
    assert len(ds) >= n
    return ds.select(range(n)).cast(FEATURES)


def test_early_stopping_and_empty_sentences(pakner_dir, cache_dir, tmp_path):
    """With lr 0 validation F1 never improves: patience 1 stops after the 2nd of 5 epochs.
    Empty sentences (augmented copies whose only word was deleted) are dropped from training."""
    src = _pashto_train(pakner_dir, 30)
    empty = datasets.Dataset.from_dict({"id": ["e1", "e2"], "tokens": [[], []], "ner_tags": [[], []],
                                        "lang": ["ps"] * 2, "source": ["aug"] * 2}, features=FEATURES)
    train = datasets.concatenate_datasets([src, empty])
    repo = write_repo(tmp_path / "repo", {"pashto": {"train": train, "validation": src, "test": train}})
    out = tmp_path / "out"
    assert main(train_args(repo, cache_dir, out, "--num_train_epochs", "5", "--learning_rate", "0",
                           "--early_stopping_patience", "1")) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["setup"]["epochs_run"] == 2 and res["setup"]["best_epoch"] == 0
    assert res["setup"]["train_sentences"] == 30
    assert res["test"]["n_sentences"] == 32  # empty sentences are still scored (trivially)


def test_a_model_that_learned_only_o_is_flagged(trained, pakner_dir, cache_dir, tmp_path):
    """Trained on sentences whose entities were erased, the model tags no entity: results.json, the log's
    warning and the model card say so instead of leaving a silent F1 of 0."""
    src = _pashto_train(pakner_dir, 40)
    erased = src.map(lambda ex: {"ner_tags": [0] * len(ex["ner_tags"])})
    repo = write_repo(tmp_path / "repo", {"pashto": {"train": erased, "validation": src, "test": src}})
    out = tmp_path / "out"
    assert main(train_args(repo, cache_dir, out, "--num_train_epochs", "3")) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["validation"]["overall"]["n_pred"] == 0 < res["validation"]["overall"]["n_gold"]
    [warning] = res["warnings"]
    assert "learned only 'O'" in warning and "0.003 at batch 8" in warning
    card = (out / "README.md").read_text()
    assert "### Warnings" in card and warning in card
    # a run that tags entities carries no warning
    learned = json.loads((trained / "results.json").read_text())
    assert learned["validation"]["overall"]["n_pred"] > 0 and learned["warnings"] == []


def test_push_to_hub_publishes_the_model_without_checkpoints(hub_server, pakner_dir, cache_dir, tmp_path):
    repo_id = "pakner-test/tiny-pakner-ner"
    out = tmp_path / "model"
    assert main(train_args(pakner_dir, cache_dir, out, "--max_steps", "4", "--checkpointing_steps", "2",
                           "--push_to_hub", "--hub_model_id", repo_id)) == 0
    assert (out / "checkpoints" / "step_2").is_dir()
    files = hub_server.server.files(repo_id, "model")
    assert {"README.md", "model.safetensors", "config.json", "tokenizer.json", "results.json",
            "confusion_matrix.png"} <= set(files)
    assert not [f for f in files if f.startswith(("checkpoints/", "best_model/"))]
    card = (out / "README.md").read_text()
    assert hub_server.token not in card and f'model="{repo_id}"' in card


def test_unusable_paths_fail_before_any_training(pakner_dir, cache_dir, tmp_path, capsys):
    """An output folder that cannot be written and a garbage checkpoint are found before training starts."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SystemExit, match="--output_dir .*exists and is not a folder"):
        main(train_args(pakner_dir, cache_dir, blocker))
    with pytest.raises(SystemExit, match="--output_dir .*cannot write"):
        main(train_args(pakner_dir, cache_dir, blocker / "sub"))
    garbage = tmp_path / "ckpt"
    garbage.mkdir()
    (garbage / "model.safetensors").write_bytes(b"")
    with pytest.raises(SystemExit, match="not a hubkit checkpoint .*model.safetensors, optimizer.bin"):
        main(train_args(pakner_dir, cache_dir, tmp_path / "out", "--resume_from_checkpoint", str(garbage)))
    assert "training:" not in capsys.readouterr().err  # no step was taken


def test_results_record_no_local_absolute_path(trained):
    text = (trained / "results.json").read_text() + (trained / "README.md").read_text()
    assert str(Path.home()) not in text and "/tmp/" not in text and str(trained.parent) not in text
    setup = json.loads((trained / "results.json").read_text())["setup"]
    assert not setup["dataset"].startswith("/") and not setup["base_model"].startswith("/")


def test_config_file_with_an_unknown_key_is_one_clear_line(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("model_name_or_path: tiny\ndataset: x\noutput_dir: y\nlearning_rat: 1e-3\n")
    with pytest.raises(SystemExit, match=r"run.yaml: .*learning_rat"):
        parse_args([str(config)])
    with pytest.raises(SystemExit, match=r"run.yaml: unknown option\(s\) learning_rat"):
        parse_args([str(config), "--seed", "2"])


def _launch(argv, env_extra, tmp_path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCELERATE_", "WORLD_SIZE", "LOCAL_"))}
    env.update(env_extra, HUBKIT_CPU_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(argv, env=env, cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                          timeout=900)


def _failure(proc) -> str:
    """Every rank's error lines: the tail of a torchrun log is only rank 0 waiting at a barrier."""
    lines = [l for l in proc.stderr.splitlines() if "rror" in l or "[rank1]" in l]
    return "\n".join(lines)[-6000:] or proc.stderr[-3000:]


@pytest.mark.slow
def test_multi_process_cpu_training_is_one_group_or_refused(pakner_dir, cache_dir, tmp_path):
    """accelerate's CPU --num_processes 2 (one process) and torchrun without ACCELERATE_USE_CPU (two lone
    trainings) are refused with the working command; that command trains as one gloo group."""
    import sys

    bin_dir = Path(sys.executable).parent
    base = train_args(pakner_dir, cache_dir, tmp_path / "x", "--max_steps", "6", "--mixed_precision", "no")
    base = [a for a in base if a not in ("--cpu_threads", "1")]
    script = "hubkit/train.py"

    def args_for(out, batch):
        argv = list(base)
        argv[argv.index(str(tmp_path / "x"))] = str(tmp_path / out)
        argv[argv.index("--per_device_train_batch_size") + 1] = str(batch)
        return argv

    one_process = _launch([str(bin_dir / "accelerate"), "launch", "--num_processes", "2", "--cpu", script,
                           *args_for("acc", 8)], {}, tmp_path)
    assert one_process.returncode != 0 and "ACCELERATE_USE_CPU=true torchrun --nproc_per_node 2" in one_process.stderr
    lone = _launch([str(bin_dir / "torchrun"), "--nproc_per_node", "2", script, *args_for("lone", 4)], {}, tmp_path)
    assert lone.returncode != 0 and "not one training group" in lone.stderr
    assert not (tmp_path / "lone" / "results.json").exists()
    ddp = _launch([str(bin_dir / "torchrun"), "--nproc_per_node", "2", script, *args_for("ddp", 4)],
                  {"ACCELERATE_USE_CPU": "true"}, tmp_path)
    assert ddp.returncode == 0, _failure(ddp)
    single = _launch([sys.executable, script, *args_for("single", 8)], {}, tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    two, one = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("ddp", "single"))
    assert two["setup"]["num_processes"] == 2 and one["setup"]["num_processes"] == 1
    assert two["setup"]["optimizer_steps"] == one["setup"]["optimizer_steps"] == 6
    # the same 8 sentences a step, split over two processes: the same training, up to float sums
    assert two["history"][-1]["train_loss"] == pytest.approx(one["history"][-1]["train_loss"], rel=0.05)


def test_the_flagship_recipe_parses_and_options_after_it_win():
    model_args, data_args, train_args = parse_args([str(Path(__file__).resolve().parent.parent / "configs" / "flagship.yaml"), "--seed", "2", "--output_dir", "out"])
    assert model_args.model_name_or_path == "e5-small-pakner-vocab" and data_args.languages == ["all"]
    assert train_args.seed == 2 and train_args.output_dir == "out" and train_args.mixed_precision == "no"
    assert train_args.calibrate_outside_bias and data_args.keep_sentences_without_entities == 0.3
