"""Model cards from the Markdown templates in hubkit/hub/templates: every number from results, none typed."""

import copy
import difflib
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from hubkit.hub import cards

ROOT = Path(__file__).resolve().parents[1]


def _metrics(p: float, r: float, f1: float, n_gold: int) -> dict:
    return {"precision": p, "recall": r, "f1": f1, "n_gold": n_gold, "n_pred": n_gold + 1}


def _split(seed: float) -> dict:
    """Distinct, recognisable numbers per language and type (seed shifts them per split)."""
    per_language = {}
    for i, lang in enumerate(("pashto", "urdu")):
        per_type = {t: _metrics(seed + 0.01 * i + 0.001 * j, seed + 0.02 + 0.001 * j, seed + 0.03 + 0.001 * j,
                                11 * (i + 1) + j) for j, t in enumerate(("LOC", "ORG", "PER"))}
        per_language[lang] = {"overall": _metrics(seed + 0.0411 * (i + 1), seed + 0.0522, seed + 0.0633 * (i + 1),
                                                  40 + i), "per_type": per_type}
    return {"overall": _metrics(seed + 0.0744, seed + 0.0755, seed + 0.0766, 81),
            "per_type": per_language["urdu"]["per_type"], "per_language": per_language}


def encoder_results() -> dict:
    setup = {"base_model": "e5-small", "dataset": "ORG/pakner", "languages": ["pashto", "urdu"], "policy": "x2",
             "train_sentences": 1234, "max_length": 128, "sampling_temperature": None, "epochs_run": 2,
             "num_train_epochs": 3, "optimizer_steps": 77, "best_epoch": 2, "per_device_train_batch_size": 16,
             "gradient_accumulation_steps": 2, "num_processes": 1, "learning_rate": 5e-05,
             "lr_scheduler_type": "linear", "warmup_ratio": 0.1, "weight_decay": 0.01, "seed": 7,
             "mixed_precision": "bf16", "freeze_word_embeddings": True, "license": "apache-2.0"}
    return {"model": "ORG/pakner-tiny", "setup": setup, "test": _split(0.6), "validation": _split(0.5),
            "extra_evaluations": [{"language": "pashto", "split": "test_reviewed", "note": "Corrected.",
                                   "overall": _metrics(0.4321, 0.3456, 0.3842, 52)}],
            "release_notes": ["## The release", "", "Seed 7 of 3."], "warnings": ["only O predicted"]}


def llm_results(mode: str = "lora") -> dict:
    res = encoder_results()
    res["model"] = "org/adapter"
    res["setup"].update(mode=mode, base_model="gemma3-270m", num_shots=0 if mode == "lora" else 3,
                        prompt={"chat_template": mode == "lora", "end_tokens": ["<end_of_turn>"]},
                        train_examples=90, skipped_too_long=4, base_parameters=268098176, load_in_4bit=False,
                        lora={"r": 8, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"],
                              "trainable_parameters": 483328})
    res["parse"] = {s: {"generations": 8, "empty_output": 3 if s == "test" else 0, "no_type": 0}
                    for s in ("test", "validation")}
    return res


def _yaml(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def _no_template_left(card: str) -> None:
    assert "{{" not in card and "{%" not in card and "None" not in card and card.endswith(".\n")


def test_encoder_card_header_and_tables_come_from_results():
    res = encoder_results()
    card = cards.render_card(res)
    _no_template_left(card)
    meta = _yaml(card)
    assert meta["language"] == ["ps", "ur"] and meta["license"] == "apache-2.0"
    assert meta["base_model"] == "intfloat/multilingual-e5-small" and meta["datasets"] == ["ORG/pakner"]
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "token-classification"
    assert meta["tags"] == ["token-classification", "ner", "named-entity-recognition", "pashto", "urdu"]
    index = meta["model-index"][0]
    assert index["name"] == "ORG/pakner-tiny"
    got = {(e["dataset"]["config"], e["dataset"]["split"]): {m["type"]: m["value"] for m in e["metrics"]}
           for e in index["results"]}
    want = {(lang, "test"): res["test"]["per_language"][lang]["overall"] for lang in ("pashto", "urdu")}
    want[("pashto", "test_reviewed")] = res["extra_evaluations"][0]["overall"]
    assert got == {k: {m: round(v[m], 4) for m in ("precision", "recall", "f1")} for k, v in want.items()}
    urdu = res["test"]["per_language"]["urdu"]["overall"]
    assert f"| Urdu | all | {100 * urdu['precision']:.2f} | {100 * urdu['recall']:.2f} | {100 * urdu['f1']:.2f} | 41 |" in card
    assert "| Pashto | ORG | " in card and "### Validation" in card and card.index("### Test") < card.index("### Validation")
    assert "precision 43.21, recall 34.56, F1 38.42 (52 gold entities). Corrected." in card
    assert "| epochs (run / planned) | 2 / 3 |" in card and "| word embeddings | frozen |" in card
    assert "| further training data | none |" in card and "| sentences without entities kept | all |" in card
    res["setup"].update(further_train_configs=["urdu-uner", "urdu-jahangir"], keep_sentences_without_entities=0.3)
    card = cards.render_card(res)
    assert "| further training data | urdu-uner urdu-jahangir |" in card
    assert "| sentences without entities kept | 30% (seeded) |" in card
    assert "| batch size per device x accumulation x processes | 16 x 2 x 1 |" in card
    assert "## The release\n\nSeed 7 of 3.\n" in card and "### Warnings\n\n- only O predicted\n" in card
    assert 'model="ORG/pakner-tiny"' in card and "![confusion matrix](confusion_matrix.png)" in card
    assert "confusion" not in cards.render_card(res, image=None)


@pytest.mark.parametrize("path", [("test", "per_language", "urdu", "overall", "f1"),
                                  ("validation", "per_language", "pashto", "per_type", "ORG", "recall"),
                                  ("extra_evaluations", 0, "overall", "precision")])
def test_changing_one_number_in_results_changes_only_that_number_in_the_card(path):
    """Nothing in a card is typed by hand: a changed score shows up, and nothing else moves."""
    res = encoder_results()
    changed = copy.deepcopy(res)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 0.1234
    before, after = cards.render_card(res), cards.render_card(changed)
    diff = [l for l in difflib.ndiff(before.splitlines(), after.splitlines()) if l.startswith(("- ", "+ "))]
    added = [l for l in diff if l.startswith("+ ")]
    assert added and all("12.34" in l or "0.1234" in l for l in added), diff
    assert any(l.startswith("+ |") or l.startswith("+ precision") for l in added)  # the body, not only the YAML
    assert any("value: 0.1234" in l for l in added) == (path[0] != "validation")  # model-index: test splits only
    assert len(diff) == 2 * len(added)  # each changed line replaced by one, no other line moved


def test_llm_card_for_an_adapter_and_for_few_shot_scoring():
    res = llm_results("lora")
    card = cards.render_llm_card(res, image="confusion_matrix.png")
    _no_template_left(card)
    meta = _yaml(card)
    assert meta["library_name"] == "peft" and meta["pipeline_tag"] == "text-generation"
    assert meta["base_model"] == "google/gemma-3-270m"
    assert meta["tags"] == ["ner", "named-entity-recognition", "lora", "peft", "text-generation", "pashto", "urdu"]
    f1 = {e["dataset"]["config"]: e["metrics"][2]["value"] for e in meta["model-index"][0]["results"]
          if e["dataset"]["split"] == "test"}
    assert f1 == {l: round(res["test"]["per_language"][l]["overall"]["f1"], 4) for l in ("pashto", "urdu")}
    assert "| LoRA rank / alpha / dropout | 8 / 32 / 0.05 |" in card
    assert "| trainable / base parameters | 483,328 / 268,098,176 |" in card
    assert 'Parse counts: `{"generations": 8, "empty_output": 3}`' in card
    assert 'from_pretrained("org/adapter")' in card and "fmt = PromptFormat(tokenizer)\n" in card
    assert "ended by `<end_of_turn>`" in card and "Entities:" not in card

    few = llm_results("few-shot")
    few.pop("test")
    card = cards.render_llm_card(few)
    assert _yaml(card) == {"license": "apache-2.0"}
    assert "`gemma3-270m` scored few-shot (3 examples per language drawn with seed 7" in card
    assert "## Usage" not in card and "### Test" not in card and "### Validation" in card
    assert "Sentence: <the words, joined by spaces>\nEntities:\n```" in card


def test_onnx_card_from_the_export_info(tmp_path):
    info = {"quantize": "int8", "exporter": "torch.onnx.export(dynamo=True)", "torch": "9.9", "onnxruntime": "8.8",
            "max_abs_logit_difference": 0.000123, "test": {"per_language_f1": {"pashto": 58.931, "urdu": 93.9}}}
    source = tmp_path / "pakner-x"
    source.mkdir()
    card = cards.render_onnx_card(info, source)
    assert _yaml(card) == {"library_name": "onnxruntime", "pipeline_tag": "token-classification",
                           "tags": ["ner", "onnx"]}
    assert "# pakner-x (ONNX, int8)" in card and "(torch 9.9), run with onnxruntime 8.8; fused" in card
    assert "check sentences: 1.23e-04." in card and "| pashto | 58.93 |\n| urdu | 93.90 |" in card
    assert "Source model card" not in card
    (source / "README.md").write_text("card")
    plain = cards.render_onnx_card({**info, "quantize": "none", "test": None}, source)
    assert "# pakner-x (ONNX)\n" in plain and "int8" not in plain and "Test F1" not in plain
    assert plain.endswith("Source model card: see `pakner-x`.\n")


def test_write_model_card_reads_results_json(tmp_path):
    res = encoder_results()
    (tmp_path / "results.json").write_text(json.dumps(res))
    path = cards.write_model_card(tmp_path)
    assert path == tmp_path / "README.md" and path.read_text(encoding="utf-8") == cards.render_card(res, None)
    assert not (tmp_path / "confusion_matrix.png").exists()  # no confusion in results: no image


def test_templates_resolve_and_are_declared_package_data():
    names = sorted(p.name for p in cards.TEMPLATES.glob("*.md"))
    assert names == ["encoder_card.md", "llm_card.md", "onnx_card.md"]
    for name in names:
        assert cards.template_path(name).is_file()
    with pytest.raises(FileNotFoundError):
        cards.template_path("missing.md")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["hubkit.hub"]
    assert all(any((ROOT / "hubkit" / "hub").glob(p)) for p in patterns)
    shipped = {p.name for pattern in patterns for p in (ROOT / "hubkit" / "hub").glob(pattern)}
    assert set(names) <= shipped
    assert any(d.lower().startswith("jinja2") for d in config["project"]["dependencies"])


@pytest.mark.parametrize("mode", ["lora", "few-shot"])
def test_llm_card_names_local_folders_without_their_path(tmp_path, mode):
    """A local dataset or base-model folder shows by its name: no local path in a published card."""
    data, base = tmp_path / "pakner-local", tmp_path / "my-base-model"
    data.mkdir()
    base.mkdir()
    res = llm_results(mode)
    res["setup"].update(dataset=str(data), base_model=str(base))
    card = cards.render_llm_card(res)
    assert str(tmp_path) not in card
    assert "pakner-local (local folder)" in card if mode == "lora" else "my-base-model (local folder)" in card
