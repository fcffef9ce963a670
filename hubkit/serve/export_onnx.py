"""`hubkit export-onnx`: a token classifier as an ONNX Runtime folder, optionally int8, for CPU serving.

The folder holds `model.onnx` (PyTorch's maintained exporter, `torch.onnx.export(dynamo=True)`,
batch and length dynamic), the model's `config.json` and tokenizer, `hubkit_onnx.json` (how it
was made, and how far its logits are from PyTorch's on check sentences) and a model card. With
`--quantize int8` the graph is first fused by onnxruntime's transformer optimizer (bias+GELU,
skip+LayerNorm), then the weights of every MatMul are quantised to int8 per output channel, in 7
bits (`reduce_range`: no u8 x s8 overflow on CPUs without VNNI), with dynamic activation
quantisation (`onnxruntime.quantization.quantize_dynamic`). That recipe was chosen on validation
F1 against plain per-tensor int8 (BENCHMARKS.md).

`OnnxTokenClassifier` runs such a folder behind the small part of the PyTorch model interface
that hubkit's tagger and evaluation use (`config`, `__call__(...).logits`, `eval`, `to`), so
`hubkit tag`, `hubkit evaluate` and the Space accept an exported folder wherever they accept a
model: same labels, same word splitting, windows, offsets and BIO decoding.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from hubkit.errors import HubkitError
from hubkit.evaluation.gazetteer import GAZETTEER_FILE
from hubkit.files import atomic_folder
from hubkit.hub.cards import render_onnx_card
from hubkit.models.onnx import ONNX_FILE, ONNX_INFO, OnnxTokenClassifier

QUANTIZE = ("none", "int8")
CHECK_TEXTS = (["عمران", "خان", "لاہور", "میں", "ہیں"], ["ڪراچي", "سنڌ", "جو", "شهر"],
               ["کابل", "د", "افغانستان", "پلازمېنه", "ده"], ["بلھے", "شاہ", "قصور", "وچ", "رہندے", "سن"])
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class ExportError(HubkitError):
    """A model or output folder that cannot be used for an export."""


# ----------------------------------------------------------------------------- export
def _check_paths(model_dir: Path, out_dir: Path, quantize: str) -> None:
    if quantize not in QUANTIZE:
        raise ExportError(f"--quantize must be one of {', '.join(QUANTIZE)}, not {quantize!r}")
    if not model_dir.is_dir():
        raise ExportError(f"no such folder: {model_dir}")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"--out {out_dir}: exists and is not empty (remove it or choose another folder)")
    probe = out_dir.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise ExportError(f"--out {out_dir}: cannot write in {probe}")


def _export_fp32(model, tokenizer, path: Path) -> None:
    import torch

    example = tokenizer(CHECK_TEXTS[:2], is_split_into_words=True, padding=True, return_tensors="pt")
    inputs = {"input_ids": example["input_ids"], "attention_mask": example["attention_mask"]}
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", min=2, max=model.config.max_position_embeddings - 2)
    torch.onnx.export(model, (), str(path), kwargs=inputs, input_names=list(inputs), output_names=["logits"],
                      dynamic_shapes={name: {0: batch, 1: seq} for name in inputs}, dynamo=True,
                      external_data=False, verbose=False)


INT8_RECIPE = {"fusion": "onnxruntime.transformers.optimizer (bert, opt_level 1)", "weight_type": "QInt8",
               "per_channel": True, "reduce_range": True, "op_types": ["MatMul", "Gemm"]}


def _quantize_int8(src: Path, dst: Path, config) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    fused = dst.with_name("fused.onnx")
    optimizer.optimize_model(str(src), model_type="bert", num_heads=config.num_attention_heads,
                             hidden_size=config.hidden_size, opt_level=1).save_model_to_file(str(fused))
    quantize_dynamic(str(fused), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=INT8_RECIPE["op_types"],
                     per_channel=INT8_RECIPE["per_channel"], reduce_range=INT8_RECIPE["reduce_range"])
    fused.unlink()


def max_logit_difference(model, tokenizer, folder: Path) -> float:
    """Largest |logit| difference between PyTorch and the exported folder on CHECK_TEXTS (padded batch)."""
    import torch

    enc = tokenizer(list(CHECK_TEXTS), is_split_into_words=True, padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    got = OnnxTokenClassifier(folder)(enc["input_ids"], enc["attention_mask"]).logits
    mask = enc["attention_mask"].bool()
    return float((ref - got).abs()[mask].max())


def export_onnx(model_dir: str | os.PathLike, out_dir: str | os.PathLike, quantize: str = "none",
                dataset: str | None = None) -> dict:
    """Export (and check) a token classifier; returns the info written to hubkit_onnx.json."""
    import onnxruntime
    import torch

    from hubkit.models.encoders import ModelError, load_token_classifier

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    _check_paths(model_dir, out_dir, quantize)
    try:
        model, tokenizer = load_token_classifier(str(model_dir))
    except ModelError as err:
        raise ExportError(str(err)) from err
    model.eval()
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"--out {out_dir}: cannot write there ({err.strerror})") from err
    with atomic_folder(out_dir, replace=True) as tmp:  # replaced: an empty folder (checked above)
        _export_fp32(model, tokenizer, tmp / "fp32.onnx")
        if quantize == "int8":
            _quantize_int8(tmp / "fp32.onnx", tmp / ONNX_FILE, model.config)
            (tmp / "fp32.onnx").unlink()
        else:
            (tmp / "fp32.onnx").rename(tmp / ONNX_FILE)
        model.config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if (model_dir / GAZETTEER_FILE).is_file():  # the exported folder tags as the source does
            shutil.copyfile(model_dir / GAZETTEER_FILE, tmp / GAZETTEER_FILE)
        info = {"source": model_dir.name, "quantize": quantize, "exporter": "torch.onnx.export(dynamo=True)",
                "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                **({"int8": INT8_RECIPE} if quantize == "int8" else {}),
                "max_abs_logit_difference": max_logit_difference(model, tokenizer, tmp)}
        if dataset:
            info["test"] = _scores(tmp, dataset)
        (tmp / ONNX_INFO).write_text(json.dumps(info, indent=2) + "\n")
        (tmp / "README.md").write_text(render_onnx_card(info, model_dir), encoding="utf-8")
    return info


def _scores(folder: Path, dataset: str) -> dict:
    """Test F1 per language of the exported folder (all four languages the dataset has)."""
    from hubkit.evaluation.predict import evaluate_model

    results = evaluate_model(str(folder), dataset, ["all"], split="test")
    per_lang = {lang: round(100 * r["overall"]["f1"], 2) for lang, r in results.get("per_language", {}).items()}
    return {"overall_f1": round(100 * results["overall"]["f1"], 2), "per_language_f1": per_lang}


# ----------------------------------------------------------------------------- CLI
def _cli_export(args: argparse.Namespace) -> int:
    from hubkit.hardware import apply_threads

    apply_threads(None)
    info = export_onnx(args.model, args.out, args.quantize, args.evaluate)
    print(f"wrote {args.out} (quantize {info['quantize']}, max |logit difference| "
          f"{info['max_abs_logit_difference']:.2e})")
    if info.get("test"):
        print("test F1: " + ", ".join(f"{k} {v:.2f}" for k, v in info["test"]["per_language_f1"].items()))
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export-onnx", help="export a fine-tuned token classifier to ONNX (optionally int8) for fast CPU tagging",
        description="Write an ONNX Runtime folder (model.onnx, config, tokenizer, card) that hubkit tag, "
                    "hubkit evaluate and the Space accept as --model.")
    p.add_argument("model", help="fine-tuned hubkit token-classifier folder")
    p.add_argument("--out", required=True, help="output folder (must not exist, or be empty)")
    p.add_argument("--quantize", default="none", choices=QUANTIZE,
                   help="int8: dynamic int8 quantisation of the MatMul weights (smaller, faster on CPU)")
    p.add_argument("--evaluate", metavar="DATASET", default=None,
                   help="score the exported folder on DATASET's test splits and write the F1 into its card")
    p.set_defaults(func=_cli_export)
    return p
