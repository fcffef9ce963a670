"""Tagging speed and quality: PyTorch vs ONNX fp32 vs ONNX int8 (hubkit export-onnx), beside the pipeline.

    python benchmarks/bench_onnx.py --data-dir ../shared/data --model build/models/pakner-e5-small \
        [--quality build/pakner]

Speed, for 1 thread and for the default threads (all usable cores), side by side in one run:
one 16-word sentence through `Tagger.tag` (p50/p95 of --repeats calls after a warm-up), and
lines/s of `hubkit tag`'s path (hubkit.serve.tagger.tag_file, jsonl) on real test lines of the four
languages, against `transformers.pipeline("token-classification")` on the PyTorch model.
Quality (--quality DATASET): entity F1 on every language's test split for the three variants of
the same model (BIO decoding), and the share of test sentences whose tags equal PyTorch's.
Prints markdown tables (BENCHMARKS.md records them).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tagger import SENTENCE, load_lines, padding_ratio, percentile, timed  # noqa: E402

LANGS = ("urdu", "shahmukhi", "sindhi", "pashto")


def variants(model_dir: str, work: Path) -> dict:
    """name -> (model, tokenizer) for PyTorch, ONNX fp32 and ONNX int8 of the same folder."""
    from hubkit.models.encoders import load_token_classifier
    from hubkit.serve.export_onnx import export_onnx
    from hubkit.models.onnx import is_onnx_folder

    out = {"PyTorch": load_token_classifier(model_dir)}
    for quant, name in (("none", "ONNX fp32"), ("int8", "ONNX int8")):
        folder = work / f"onnx-{quant}"
        if not is_onnx_folder(folder):
            export_onnx(model_dir, folder, quantize=quant)
        out[name] = load_token_classifier(str(folder))
    return out


def speed_rows(models: dict, lines: list[str], threads: int, repeats: int, rounds: int, batch: int) -> list[str]:
    import torch
    from transformers import pipeline

    from hubkit.models.onnx import OnnxTokenClassifier
    from hubkit.serve.tagger import Tagger, split_words, tag_file

    torch.set_num_threads(threads)
    n_words = sum(len(split_words(line)) for line in lines)
    rows, rates = [], {}
    pt_model, pt_tok = models["PyTorch"]
    pipe = pipeline("token-classification", model=pt_model, tokenizer=pt_tok, aggregation_strategy="simple",
                    device=-1)
    taggers = {}
    for name, (model, tok) in models.items():
        if isinstance(model, OnnxTokenClassifier):
            model = OnnxTokenClassifier(model.folder, threads=threads)
        taggers[name] = Tagger(model, tok, batch_size=batch, device="cpu")
    lat = {name: timed(lambda t=t: t.tag(SENTENCE), repeats) for name, t in taggers.items()}
    runs = {name: [] for name in [*taggers, "pipeline"]}
    for _ in range(rounds):  # alternate, so load from other processes hits every variant alike
        for name, tagger in taggers.items():
            t0 = time.perf_counter()
            tag_file(tagger, lines, io.StringIO(), "jsonl", progress=False)
            runs[name].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pipe(lines, batch_size=batch)
        runs["pipeline"].append(time.perf_counter() - t0)
    for name, times in runs.items():
        rates[name] = len(lines) / statistics.median(times)
    base = rates["pipeline"]
    for name in [*taggers, "pipeline"]:
        p50 = f"{statistics.median(lat[name]) * 1000:.1f}" if name in lat else "-"
        p95 = f"{percentile(lat[name], 0.95) * 1000:.1f}" if name in lat else "-"
        label = f"`hubkit tag`, {name}" if name != "pipeline" else '`pipeline("token-classification")`, PyTorch'
        rows.append(f"| {threads} | {label} | {p50} | {p95} | {rates[name]:.1f} | {rates[name] / base:.2f}x | "
                    f"{n_words * rates[name] / len(lines):.0f} |")
    return rows


def speed_tables(models: dict, lines: list[str], args) -> None:
    from hubkit.hardware import usable_cores
    from hubkit.serve.tagger import LINES_PER_CHUNK, Tagger

    tagger = Tagger(*models["PyTorch"], batch_size=args.batch_size, device="cpu")
    print(f"Sub-words fed per real sub-word (padding) on these lines, batches of {args.batch_size}: "
          + ", ".join(f"{n:,} lines tagged together {padding_ratio(tagger, lines, n):.2f}"
                      for n in (args.batch_size, LINES_PER_CHUNK)) + "\n")
    print(f"One sentence = {len(SENTENCE.split())} words; throughput on {len(lines)} lines, batch "
          f"{args.batch_size}, median of {args.rounds} rounds\n")
    print("| threads | path | one sentence p50 (ms) | p95 (ms) | lines/s | vs pipeline | words/s |")
    print("|---|---|---|---|---|---|---|")
    for threads in sorted({1, usable_cores()}):
        for row in speed_rows(models, lines, threads, args.repeats, args.rounds, args.batch_size):
            print(row, flush=True)


def quality_rows(models: dict, dataset: str) -> list[str]:
    from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data
    from hubkit.evaluation.predict import evaluate_dataset

    test = concat(load_ner_data(dataset, list(LANGS), splits=["test"])["test"])
    scores, preds = {}, {}
    for name, (model, tok) in models.items():
        scores[name], preds[name] = evaluate_dataset(model, tok, test, batch_size=32, max_length=256,
                                                     desc=f"test {name}")
    langs = test[LANG_COLUMN]
    rows = []
    for lang in LANGS:
        idx = [i for i, l in enumerate(langs) if l == lang]
        cells = [f"{100 * scores[n]['per_language'][lang]['overall']['f1']:.2f}" for n in models]
        same = {n: sum(preds[n][i] == preds["PyTorch"][i] for i in idx) / len(idx) for n in models if n != "PyTorch"}
        drop = 100 * (scores["PyTorch"]["per_language"][lang]["overall"]["f1"]
                      - scores["ONNX int8"]["per_language"][lang]["overall"]["f1"])
        rows.append(f"| {lang} | {' | '.join(cells)} | {drop:+.2f} | {100 * same['ONNX fp32']:.2f}% | "
                    f"{100 * same['ONNX int8']:.2f}% |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("PAKNER_DATA_DIR"), help="real corpora (shared/data)")
    parser.add_argument("--model", required=True, help="fine-tuned token classifier folder (PyTorch)")
    parser.add_argument("--quality", metavar="DATASET", default=None,
                        help="also score the three variants on DATASET's test splits (e.g. build/pakner)")
    parser.add_argument("--work-dir", default=None, help="where the ONNX folders are exported (default: a temp dir)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--lines", type=int, default=50, help="lines per language for the throughput run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-speed", action="store_true",
                        help="only the quality tables (they need no quiet machine, the speed ones do)")
    args = parser.parse_args(argv)
    if not args.data_dir or not (Path(args.data_dir) / "urdu").is_dir():
        parser.error("--data-dir (or PAKNER_DATA_DIR) must point at the real corpora")

    import onnxruntime
    import torch
    import transformers

    from hubkit.experiments.flagship_report import cpu_line
    from hubkit.hardware import usable_cores

    transformers.logging.set_verbosity_error()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="hubkit-bench-onnx-"))
    models = variants(args.model, work)
    print(f"Model: {Path(args.model).name}; CPU: {cpu_line()}; torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}\n")
    if not args.skip_speed:
        speed_tables(models, load_lines(Path(args.data_dir), args.lines), args)
    if args.quality:
        torch.set_num_threads(usable_cores())
        print("\n| language | PyTorch F1 | ONNX fp32 F1 | ONNX int8 F1 | int8 loss | fp32 same tags | int8 same tags |")
        print("|---|---|---|---|---|---|---|")
        for row in quality_rows(models, args.quality):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
