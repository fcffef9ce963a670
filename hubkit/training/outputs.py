"""What a training run leaves in its output folder besides the weights, and publishing the folder.

Both trainers write `results.json` (model, setup, history, one section per scored split, ...) and
`all_results.json` (the flat numbers: loss, steps, P/R/F1 per split and language F1), and with
`--push_to_hub` publish the folder through hubkit.hub.publish, checked to be possible before training.
"""

from __future__ import annotations

import json
from pathlib import Path

from hubkit.evaluation.metrics import save_results


def public_name(name: str) -> str:
    """What results.json and the card record: a Hub id or built-in name as given, a local folder by
    its name only (they are published: no absolute local path)."""
    path = Path(name).expanduser()
    return path.resolve().name if path.exists() or path.is_absolute() else name


def check_push(train_args) -> None:
    """Fail before training, not after it, when --push_to_hub could not publish."""
    if train_args.push_to_hub and not train_args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id ORG/name")


def flat_results(results: dict, splits, **head) -> dict:
    """all_results.json: `head` (loss, steps, ...), then each split's overall P/R/F1 and per-language F1
    (validation under the key `eval`, as transformers' examples name it)."""
    flat = dict(head)
    for split in splits:
        key = "eval" if split == "validation" else split
        for m in ("precision", "recall", "f1"):
            flat[f"{key}_{m}"] = results[split]["overall"][m]
        for lang, sub in results[split].get("per_language", {}).items():
            flat[f"{key}_{lang}_f1"] = sub["overall"]["f1"]
    return flat


def write_results(output_dir: Path, results: dict, flat: dict) -> None:
    """results.json and all_results.json (rank 0 only)."""
    save_results(Path(output_dir) / "results.json", **results)
    (Path(output_dir) / "all_results.json").write_text(json.dumps(flat, indent=2) + "\n")


def publish_when_asked(accelerator, train_args, output_dir: Path) -> None:
    """Once every rank has finished the folder, rank 0 publishes it if --push_to_hub asked."""
    accelerator.wait_for_everyone()
    if train_args.push_to_hub and accelerator.is_main_process:
        from hubkit.hub.publish import publish  # lazy: checked to exist before training

        publish(output_dir, train_args.hub_model_id, repo_type="model")


__all__ = ["public_name", "check_push", "flat_results", "write_results", "publish_when_asked"]
