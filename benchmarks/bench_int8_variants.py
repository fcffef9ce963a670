"""int8 recipes for one fp32 ONNX export, chosen on validation: F1 per language against fp32, p50, size.

    python benchmarks/bench_int8_variants.py FP32_FOLDER WORK_DIR [--dataset build/pakner] [--only a,b]

FP32_FOLDER is a `hubkit export-onnx` folder (no quantisation). Each variant is quantised from its
model.onnx (onnxruntime `quantize_dynamic`, QInt8 MatMul/Gemm weights) into WORK_DIR/<variant>,
then scored on every language's validation split and timed on one 16-word sentence (1 thread).
Prints one line per variant and writes WORK_DIR/variants.json (BENCHMARKS.md records the table).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

VARIANTS = {
    "int8": {},
    "int8-perchannel": {"per_channel": True},
    "int8-reduce": {"reduce_range": True},
    "int8-perchannel-reduce": {"per_channel": True, "reduce_range": True},
    "int8-perchannel-reduce-fp32head": {"per_channel": True, "reduce_range": True, "head": True},
    "fused-int8-perchannel-reduce": {"per_channel": True, "reduce_range": True, "fuse": True},
}
SENTENCE = "وزیر اعظم عمران خان نے لاہور میں پاکستان مسلم لیگ کے جلسے سے خطاب کیا اور کراچی روانہ ہو گئے ۔"


def make_variant(fp32: Path, folder: Path, options: dict, config) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    shutil.copytree(fp32, folder, dirs_exist_ok=True)
    (folder / "model.onnx").unlink()
    source = fp32 / "model.onnx"
    if options.get("fuse"):
        source = folder / "fused.onnx"
        optimizer.optimize_model(str(fp32 / "model.onnx"), model_type="bert", num_heads=config.num_attention_heads,
                                 hidden_size=config.hidden_size, opt_level=1).save_model_to_file(str(source))
    graph = onnx.load(str(source)).graph
    head = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm")][-1:] if options.get("head") else []
    quantize_dynamic(str(source), str(folder / "model.onnx"), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=head,
                     per_channel=options.get("per_channel", False), reduce_range=options.get("reduce_range", False))
    (folder / "fused.onnx").unlink(missing_ok=True)


def measure(folder: Path, dataset: str) -> dict:
    from hubkit.evaluation.predict import evaluate_model
    from hubkit.models.encoders import load_token_classifier
    from hubkit.models.onnx import OnnxTokenClassifier
    from hubkit.serve.tagger import Tagger

    results = evaluate_model(str(folder), dataset, ["all"], split="validation")
    _, tokenizer = load_token_classifier(str(folder))
    tagger = Tagger(OnnxTokenClassifier(folder, threads=1), tokenizer)
    for _ in range(5):
        tagger.tag(SENTENCE)
    times = []
    for _ in range(60):
        start = time.perf_counter()
        tagger.tag(SENTENCE)
        times.append(time.perf_counter() - start)
    return {"val_f1": {l: round(100 * r["overall"]["f1"], 2) for l, r in results["per_language"].items()},
            "p50_ms_1thread": round(1000 * statistics.median(times), 1),
            "mb": round((folder / "model.onnx").stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fp32", type=Path, help="a `hubkit export-onnx` folder without quantisation")
    parser.add_argument("work", type=Path, help="where the variants are written")
    parser.add_argument("--dataset", default="build/pakner", help="dataset whose validation splits score them")
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants (default: all)")
    args = parser.parse_args()
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(args.fp32)
    names = args.only.split(",")
    for name in names:
        if not (args.work / name / "model.onnx").is_file():
            make_variant(args.fp32, args.work / name, VARIANTS[name], config)
    rows = {}
    for name in ["fp32", *names]:
        rows[name] = measure(args.fp32 if name == "fp32" else args.work / name, args.dataset)
        print(name, rows[name], flush=True)
    (args.work / "variants.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
