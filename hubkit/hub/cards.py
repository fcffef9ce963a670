"""Model cards (README.md with YAML and `model-index`) and the confusion-matrix PNG of a trained model.

The text of each card is a Markdown template in hubkit/hub/templates/ (`encoder_card.md`,
`llm_card.md`, `onnx_card.md`), rendered with `huggingface_hub.ModelCard.from_template`; the
YAML header is a `ModelCardData` built here. Every number comes from the `results.json` written
by the trainers (or the `hubkit_onnx.json` of an export): none is typed by hand, and no token or
credential is ever read or written here.
"""

from __future__ import annotations

import json
from pathlib import Path

from hubkit.languages import LANGUAGE_NAMES, LANGUAGES

# Names that hubkit builds locally -> the Hub model they stand for (for `base_model`).
KNOWN_BASES = {"e5-small": "intfloat/multilingual-e5-small"}
TEMPLATES = Path(__file__).with_name("templates")
NER_TAGS = ["ner", "named-entity-recognition"]
METRICS = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))


# ----------------------------------------------------------------------------- templates
def template_path(name: str) -> Path:
    """The packaged Markdown template `name` (hubkit/hub/templates/NAME)."""
    path = TEMPLATES / name
    if not path.is_file():
        raise FileNotFoundError(f"no model-card template {path} (is hubkit installed with its package data?)")
    return path


def render_template(name: str, data, **variables) -> str:
    """The card text: template `name` filled with `variables`, `{{ card_data }}` the YAML of `data`."""
    from huggingface_hub import ModelCard

    card = ModelCard.from_template(data, template_path=str(template_path(name)), **variables)
    return str(card).rstrip("\n") + "\n"


# ----------------------------------------------------------------------------- names and numbers
def hub_id(name: str | None) -> str | None:
    """`name` when it looks like a Hub id (ORG/name, not a local path), else None."""
    if not name:
        return None
    name = KNOWN_BASES.get(name, name)
    if Path(name).exists() or name.count("/") != 1 or name.startswith((".", "/")):
        return None
    return name


def shown(name: str | None) -> str:
    """A Hub id as is; a local folder by its name only (no local paths in a published card)."""
    if not name:
        return "-"
    return hub_id(name) or (f"{Path(name).name} (local folder)" if Path(name).exists() else name)


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def language_names(langs) -> str:
    return ", ".join(LANGUAGE_NAMES.get(lang, lang) for lang in langs)


def language_tags(langs) -> list[str]:
    return [LANGUAGE_NAMES[lang].split()[0].lower() for lang in langs if lang in LANGUAGE_NAMES]


def results_rows(res: dict) -> list[list]:
    """Rows of the results table (language, type, P, R, F1 in %, gold entities): each language, then all."""
    rows = []
    for lang, sub in sorted(res.get("per_language", {}).items()) + [("all", res)]:
        for etype, m in [("all", sub["overall"])] + sorted(sub["per_type"].items()):
            rows.append([LANGUAGE_NAMES.get(lang, lang), etype, pct(m["precision"]), pct(m["recall"]), pct(m["f1"]),
                         m["n_gold"]])
    return rows


def _repo(results: dict, placeholder: str) -> str:
    model = results.get("model")
    return model if "/" in str(model) else placeholder


# ----------------------------------------------------------------------------- YAML header
def _eval_results(overall: dict, lang: str, split: str, dataset_type: str, suffix: str) -> list:
    from huggingface_hub import EvalResult

    return [EvalResult(task_type="token-classification", task_name="Named Entity Recognition",
                       dataset_type=dataset_type, dataset_name=f"{dataset_type} ({suffix})", dataset_config=lang,
                       dataset_split=split, metric_type=key, metric_value=round(overall[key], 4),
                       metric_name=f"{label} ({suffix})") for key, label in METRICS]


def model_index(results: dict, dataset_type: str) -> list:
    """EvalResults of `model-index`: test P/R/F1 per language, then any extra evaluation (a reviewed split)."""
    langs = results["setup"]["languages"]
    test = results["test"]
    per_lang = test.get("per_language") or {langs[0]: test}
    evals = []
    for lang in langs:
        if lang in per_lang:
            evals += _eval_results(per_lang[lang]["overall"], lang, "test", dataset_type, lang)
    for extra in results.get("extra_evaluations", []):  # e.g. Pashto's corrected test split
        lang, split = extra["language"], extra["split"]
        evals += _eval_results(extra["overall"], lang, split, dataset_type, f"{lang}, {split}")
    return evals


def card_data(results: dict):
    """huggingface_hub ModelCardData with `model-index`: test P/R/F1 per language."""
    from huggingface_hub import ModelCardData

    setup = results["setup"]
    langs = list(setup["languages"])
    dataset_id = hub_id(setup["dataset"])
    dataset_type = dataset_id or Path(setup["dataset"]).name
    return ModelCardData(
        language=[LANGUAGES[lang] for lang in langs if lang in LANGUAGES], license=setup.get("license", "apache-2.0"),
        library_name="transformers", pipeline_tag="token-classification",
        base_model=hub_id(setup.get("base_model")), datasets=[dataset_id] if dataset_id else None,
        tags=["token-classification", *NER_TAGS, *language_tags(langs)],
        model_name=results.get("model") or "hubkit-ner", eval_results=model_index(results, dataset_type) or None)


# ----------------------------------------------------------------------------- encoder card
def _share(share: float | None) -> str:
    return "all" if share is None or share >= 1 else f"{100 * share:g}% (seeded)"


def encoder_setup_rows(setup: dict) -> list[tuple[str, object]]:
    """The "Training setup" table of a masked-model card, straight from results["setup"]."""
    g = setup.get
    return [
        ("base model", shown(g("base_model"))), ("dataset", shown(g("dataset"))),
        ("languages", ", ".join(setup["languages"])), ("augmentation policy", g("policy") or "none"),
        ("further training data", " ".join(g("further_train_configs") or []) or "none"),
        ("training sentences", g("train_sentences")),
        ("sentences without entities kept", _share(g("keep_sentences_without_entities"))),
        ("max sub-words per window", g("max_length")),
        ("sampling temperature", g("sampling_temperature") or "none (concatenated)"),
        ("epochs (run / planned)", f"{g('epochs_run')} / {g('num_train_epochs')}"),
        ("optimizer steps", g("optimizer_steps")), ("best epoch (validation F1)", g("best_epoch")),
        ("batch size per device x accumulation x processes",
         f"{g('per_device_train_batch_size')} x {g('gradient_accumulation_steps')} x {g('num_processes')}"),
        ("learning rate / schedule / warmup", f"{g('learning_rate')} / {g('lr_scheduler_type')} / {g('warmup_ratio')}"),
        ("weight decay", g("weight_decay")), ("seed", g("seed")), ("mixed precision", g("mixed_precision")),
        ("word embeddings", "frozen" if g("freeze_word_embeddings") else "trained"),
    ]


def _extra_evaluation(extra: dict) -> dict:
    o = extra["overall"]
    return {"language": LANGUAGE_NAMES.get(extra["language"], extra["language"]), "split": extra["split"],
            "precision": pct(o["precision"]), "recall": pct(o["recall"]), "f1": pct(o["f1"]),
            "n_gold": o["n_gold"], "note": extra.get("note", "")}


def render_card(results: dict, image: str | None = "confusion_matrix.png") -> str:
    """README.md of a fine-tuned token classifier (templates/encoder_card.md)."""
    setup = results["setup"]
    return render_template(
        "encoder_card.md", card_data(results), model_title=results.get("model") or "hubkit-ner",
        language_names=language_names(setup["languages"]), base_shown=shown(setup.get("base_model")),
        setup_rows=encoder_setup_rows(setup),
        splits=[{"title": s.capitalize(), "rows": results_rows(results[s])} for s in ("test", "validation")],
        extra_evaluations=[_extra_evaluation(e) for e in results.get("extra_evaluations", [])],
        release_notes=results.get("release_notes") or [], warnings=results.get("warnings") or [], image=image,
        repo=_repo(results, "path/to/this/model"))


# ----------------------------------------------------------------------------- causal-LM card
def llm_card_data(results: dict):
    """The YAML of an adapter or few-shot card: the encoder's `model-index`, with the causal LM's library and tags."""
    from huggingface_hub import ModelCardData

    from hubkit.models.causal import HUB_EQUIVALENT

    setup = results["setup"]
    if "test" not in results:
        return ModelCardData(license=setup.get("license", "apache-2.0"))
    data = card_data(results)
    data.library_name = "peft" if setup["mode"] == "lora" else "transformers"
    data.pipeline_tag = "text-generation"
    data.base_model = hub_id(HUB_EQUIVALENT.get(setup["base_model"], setup["base_model"]))
    data.tags = [*NER_TAGS, "lora", "peft", "text-generation", *language_tags(setup["languages"])]
    return data


def lora_setup_rows(setup: dict) -> list[tuple[str, object]]:
    """The "Training setup" table of a LoRA card, straight from results["setup"]."""
    lora = setup["lora"]
    return [
        ("base model", shown(setup["base_model"])), ("dataset", shown(setup["dataset"])), ("languages", ", ".join(setup["languages"])),
        ("training sentences (used / skipped as too long)", f"{setup['train_examples']} / {setup['skipped_too_long']}"),
        ("LoRA rank / alpha / dropout", f"{lora['r']} / {lora['alpha']} / {lora['dropout']}"),
        ("LoRA target modules", ", ".join(lora["target_modules"])),
        ("trainable / base parameters", f"{lora['trainable_parameters']:,} / {setup['base_parameters']:,}"),
        ("4-bit base (QLoRA)", setup["load_in_4bit"]),
        ("epochs / optimizer steps", f"{setup['num_train_epochs']} / {setup['optimizer_steps']}"),
        ("batch size x accumulation x processes",
         f"{setup['per_device_train_batch_size']} x {setup['gradient_accumulation_steps']} x {setup['num_processes']}"),
        ("learning rate / schedule / warmup",
         f"{setup['learning_rate']} / {setup['lr_scheduler_type']} / {setup['warmup_ratio']}"),
        ("few-shot examples in each prompt", setup["num_shots"]), ("seed", setup["seed"]),
    ]


def _llm_split(results: dict, split: str) -> dict:
    counts = {k: v for k, v in results["parse"][split].items() if v}
    return {"title": split.capitalize(), "rows": results_rows(results[split]), "parse_counts": json.dumps(counts)}


def render_llm_card(results: dict, image: str | None = None) -> str:
    """README.md for a LoRA adapter (or a few-shot run): base model, prompt format, LoRA settings, results."""
    from hubkit.models.prompt import TASK

    setup = results["setup"]
    lora = setup["mode"] == "lora"
    return render_template(
        "llm_card.md", llm_card_data(results), model_title=results.get("model"), lora=lora, base=shown(setup["base_model"]),
        language_names=language_names(setup["languages"]), setup_rows=lora_setup_rows(setup) if lora else [],
        mode=setup["mode"], num_shots=setup["num_shots"], seed=setup["seed"],
        chat_template=setup["prompt"]["chat_template"], end_tokens=" ".join(setup["prompt"]["end_tokens"]),
        task=TASK.format(language="<language>"),
        splits=[_llm_split(results, s) for s in ("test", "validation") if s in results],
        image=image, repo=_repo(results, "path/to/this/adapter"))


# ----------------------------------------------------------------------------- ONNX card
def render_onnx_card(info: dict, model_dir: str | Path) -> str:
    """README.md of an `hubkit export-onnx` folder, from its hubkit_onnx.json `info`."""
    from huggingface_hub import ModelCardData

    model_dir = Path(model_dir)
    data = ModelCardData(library_name="onnxruntime", pipeline_tag="token-classification", tags=["ner", "onnx"])
    test_f1 = [(lang, f"{f1:.2f}") for lang, f1 in (info.get("test") or {}).get("per_language_f1", {}).items()]
    return render_template(
        "onnx_card.md", data, model_title=model_dir.name, int8=info["quantize"] == "int8", exporter=info["exporter"],
        torch=info["torch"], onnxruntime=info["onnxruntime"], max_difference=f"{info['max_abs_logit_difference']:.2e}",
        test_f1=test_f1, source=model_dir.name if (model_dir / "README.md").is_file() else None)


# ----------------------------------------------------------------------------- files
def plot_confusion(confusion: dict, path: str | Path, title: str = "") -> Path:
    """Save the span confusion matrix (gold rows x predicted columns) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = confusion["matrix"]
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(confusion["columns"])), confusion["columns"])
    ax.set_yticks(range(len(confusion["rows"])), confusion["rows"])
    ax.set_xlabel("predicted span")
    ax.set_ylabel("gold span")
    peak = max((v for row in matrix for v in row), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_model_card(folder: str | Path, results: dict | None = None, render=None) -> Path:
    """Write README.md (and confusion_matrix.png) into `folder` from results.json; returns the README path.

    `render(results, image_name)` makes the card's text (default: the masked-model card).
    """
    folder = Path(folder)
    if results is None:
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    image = None
    if results.get("test", {}).get("confusion"):
        image = plot_confusion(results["test"]["confusion"], folder / "confusion_matrix.png",
                               title="test: gold vs predicted span type").name
    path = folder / "README.md"
    path.write_text((render or render_card)(results, image), encoding="utf-8")
    return path


__all__ = ["KNOWN_BASES", "TEMPLATES", "template_path", "render_template", "hub_id", "shown",
           "results_rows", "model_index", "card_data", "render_card", "llm_card_data", "render_llm_card",
           "render_onnx_card", "plot_confusion", "write_model_card"]
