"""The model card (README.md with YAML and `model-index`) and confusion-matrix PNG of a trained model.

Everything comes from the `results.json` written by hubkit/train.py: no number is typed by hand,
and no token or credential is ever read or written here.
"""

from __future__ import annotations

import json
from pathlib import Path

from hubkit.data.loading import LANGUAGES

LANGUAGE_NAMES = {"urdu": "Urdu", "shahmukhi": "Shahmukhi Punjabi", "sindhi": "Sindhi", "pashto": "Pashto"}
# Names that hubkit builds locally -> the Hub model they stand for (for `base_model`).
KNOWN_BASES = {"e5-small": "intfloat/multilingual-e5-small"}


def _hub_id(name: str | None) -> str | None:
    """`name` when it looks like a Hub id (ORG/name, not a local path), else None."""
    if not name:
        return None
    name = KNOWN_BASES.get(name, name)
    if Path(name).exists() or name.count("/") != 1 or name.startswith((".", "/")):
        return None
    return name


def _shown(name: str | None) -> str:
    """A Hub id as is; a local folder by its name only (no local paths in a published card)."""
    if not name:
        return "-"
    return _hub_id(name) or (f"{Path(name).name} (local folder)" if Path(name).exists() else name)


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


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _results_table(res: dict) -> list[str]:
    lines = ["| language | type | precision | recall | F1 | gold entities |", "|---|---|---|---|---|---|"]
    blocks = sorted(res.get("per_language", {}).items()) + [("all", res)]
    for lang, sub in blocks:
        rows = [("all", sub["overall"])] + sorted(sub["per_type"].items())
        for etype, m in rows:
            lines.append(f"| {LANGUAGE_NAMES.get(lang, lang)} | {etype} | {_pct(m['precision'])} | {_pct(m['recall'])} "
                         f"| {_pct(m['f1'])} | {m['n_gold']} |")
    return lines


def card_data(results: dict):
    """huggingface_hub ModelCardData with `model-index`: test P/R/F1 per language."""
    from huggingface_hub import EvalResult, ModelCardData

    setup = results["setup"]
    langs = list(setup["languages"])
    dataset = setup["dataset"]
    dataset_id = _hub_id(dataset)
    dataset_type = dataset_id or Path(dataset).name
    model_name = results.get("model") or "hubkit-ner"
    evals = []
    test = results["test"]
    per_lang = test.get("per_language") or {langs[0]: test}
    for lang in langs:
        sub = per_lang.get(lang)
        if sub is None:
            continue
        for key, label in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
            evals.append(EvalResult(task_type="token-classification", task_name="Named Entity Recognition",
                                    dataset_type=dataset_type, dataset_name=f"{dataset_type} ({lang})",
                                    dataset_config=lang, dataset_split="test", metric_type=key,
                                    metric_value=round(sub["overall"][key], 4), metric_name=f"{label} ({lang})"))
    for extra in results.get("extra_evaluations", []):  # e.g. Pashto's corrected test split
        lang, split, overall = extra["language"], extra["split"], extra["overall"]
        for key, label in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
            evals.append(EvalResult(task_type="token-classification", task_name="Named Entity Recognition",
                                    dataset_type=dataset_type, dataset_name=f"{dataset_type} ({lang}, {split})",
                                    dataset_config=lang, dataset_split=split, metric_type=key,
                                    metric_value=round(overall[key], 4), metric_name=f"{label} ({lang}, {split})"))
    return ModelCardData(
        language=[LANGUAGES[l] for l in langs if l in LANGUAGES], license=setup.get("license", "apache-2.0"),
        library_name="transformers", pipeline_tag="token-classification",
        base_model=_hub_id(setup.get("base_model")), datasets=[dataset_id] if dataset_id else None,
        tags=["token-classification", "ner", "named-entity-recognition"] + [LANGUAGE_NAMES[l].split()[0].lower()
                                                                          for l in langs if l in LANGUAGE_NAMES],
        model_name=model_name, eval_results=evals or None)


def render_card(results: dict, image: str | None = "confusion_matrix.png") -> str:
    setup = results["setup"]
    langs = ", ".join(LANGUAGE_NAMES.get(l, l) for l in setup["languages"])
    name = results.get("model") or "hubkit-ner"
    data = card_data(results)
    setup_rows = [
        ("base model", _shown(setup.get("base_model"))), ("dataset", _shown(setup.get("dataset"))),
        ("languages", ", ".join(setup["languages"])), ("augmentation policy", setup.get("policy") or "none"),
        ("training sentences", setup.get("train_sentences")), ("max sub-words per window", setup.get("max_length")),
        ("sampling temperature", setup.get("sampling_temperature") or "none (concatenated)"),
        ("epochs (run / planned)", f"{setup.get('epochs_run')} / {setup.get('num_train_epochs')}"),
        ("optimizer steps", setup.get("optimizer_steps")), ("best epoch (validation F1)", setup.get("best_epoch")),
        ("batch size per device x accumulation x processes",
         f"{setup.get('per_device_train_batch_size')} x {setup.get('gradient_accumulation_steps')} x {setup.get('num_processes')}"),
        ("learning rate / schedule / warmup", f"{setup.get('learning_rate')} / {setup.get('lr_scheduler_type')} / {setup.get('warmup_ratio')}"),
        ("weight decay", setup.get("weight_decay")), ("seed", setup.get("seed")),
        ("mixed precision", setup.get("mixed_precision")),
        ("word embeddings", "frozen" if setup.get("freeze_word_embeddings") else "trained"),
    ]
    repo = results.get("model") if "/" in str(results.get("model")) else "path/to/this/model"
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# {name}", "",
        f"Named-entity recognition (PER, LOC, ORG; BIO tags) for {langs}, fine-tuned from "
        f"`{_shown(setup.get('base_model'))}` with hubkit's `train.py` "
        "(a plain accelerate loop; labels on the first sub-word of each word), following the setup of "
        "Ehsan & Solorio (2025), [arXiv:2504.08792](https://arxiv.org/abs/2504.08792).", "",
        "## Training setup", "", "| setting | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in setup_rows], "",
        "## Results", "",
        "Entity-level scores (seqeval, strict IOB2, at word level; every word of every sentence scored) "
        "with the best weights by validation F1.", "",
        "### Test", "", *_results_table(results["test"]), "",
        "### Validation", "", *_results_table(results["validation"]), "",
    ]
    for extra in results.get("extra_evaluations", []):
        o = extra["overall"]
        lines += [f"### {LANGUAGE_NAMES.get(extra['language'], extra['language'])}, split `{extra['split']}`", "",
                  f"precision {_pct(o['precision'])}, recall {_pct(o['recall'])}, F1 {_pct(o['f1'])} "
                  f"({o['n_gold']} gold entities). {extra.get('note', '')}", ""]
    if results.get("release_notes"):
        lines += [*results["release_notes"], ""]
    if results.get("warnings"):
        lines += ["### Warnings", "", *[f"- {w}" for w in results["warnings"]], ""]
    if image:
        lines += ["### Confusion of entity types (test)", "",
                  "Gold spans (rows) against predicted spans on the same words (columns); `missed`: no predicted "
                  "span on those words; `spurious`: a predicted span with no gold span on those words.", "",
                  f"![confusion matrix]({image})", ""]
    lines += [
        "## Usage", "", "```python", "from transformers import pipeline", "",
        f'ner = pipeline("token-classification", model="{repo}", aggregation_strategy="first")',
        'print(ner("کابل د افغانستان پلازمېنه ده"))', "```", "",
        "## Limitations", "",
        "- Trained and scored on sentence-split, whitespace-tokenized text: raw text must be split into words the "
        "same way (see hubkit's tagger), or entity boundaries will suffer.",
        "- Only PER, LOC and ORG; other types in the source corpora (dates, numbers, designations) were mapped to O.",
        "- Many WikiANN sentences are Wikipedia titles; scores on running text (news, social media) can be lower, "
        "and test sets of a few hundred sentences (Pashto) give wide confidence intervals.",
        "- The licenses of the training corpora apply to uses of this model; see the dataset card.", "",
    ]
    return "\n".join(lines)


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
