"""The whole augmentation of the four languages, stage by stage, and the ranking throughput.

Stages (bank, embeddings, clusters, alignment, candidates, ranking) come from
`hubkit.augment.candidates.run_augmentation`'s own timers, with the peak RSS of the process. Ranking is
then compared, on the same candidates, with the loop a user would write: the plain
`transformers.pipeline("token-classification")` over the candidate sentences (batched too).

    python benchmarks/bench_augment.py --pakner build/pakner --model results/cpu/cache/ranker
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pakner", required=True, help="a built ORG/pakner folder")
    parser.add_argument("--model", required=True, help="the ranking model (token-classification folder)")
    parser.add_argument("--languages", nargs="+", default=["urdu", "shahmukhi", "sindhi", "pashto"])
    parser.add_argument("--sample", type=int, default=3000, help="candidates in the ranking comparison")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()

    import datasets
    import torch
    from transformers import pipeline

    from hubkit.augment import rank
    from hubkit.augment.candidates import run_augmentation

    torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    train_sets = {lang: datasets.load_dataset(args.pakner, lang, split="train") for lang in args.languages}
    start = time.perf_counter()
    rows, summary = run_augmentation(train_sets, mode="cluster", policy="all", model=args.model,
                                     cache_dir=args.cache_dir, batch_size=args.batch_size, progress=False)
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_cands = sum(len(ds) for ds in rows.values())
    print(f"augmentation of {', '.join(args.languages)}: {n_cands:,} candidates, {total:.1f} s, peak RSS {peak:.0f} MiB, "
          f"{args.threads} thread(s)\n")
    print("| stage | seconds |\n|---|---|")
    for stage, seconds in summary["times_s"].items():
        print(f"| {stage} | {seconds:.1f} |")
    print(json.dumps({"candidates": summary["candidates"], "kept_all": summary["kept"]}))

    tokens = [t for ds in rows.values() for t in ds["tokens"]]
    sample = random.Random(0).sample(tokens, min(args.sample, len(tokens)))
    start = time.perf_counter()
    rank.predict(args.model, sample, batch_size=args.batch_size, progress=False)
    ours = time.perf_counter() - start
    tagger = pipeline("token-classification", model=args.model, device=0 if torch.cuda.is_available() else -1)
    start = time.perf_counter()
    tagger([" ".join(t) for t in sample], batch_size=args.batch_size)
    plain = time.perf_counter() - start
    distinct = len({tuple(t) for t in sample})
    print(f"\nranking {len(sample):,} candidates ({distinct:,} distinct), batch {args.batch_size}:\n")
    print("| path | seconds | sentences/s |\n|---|---|---|")
    print(f"| hubkit.augment.rank.predict (length-sorted batches, each distinct sentence once) | {ours:.1f} | {len(sample) / ours:.0f} |")
    print(f"| pipeline('token-classification') loop | {plain:.1f} | {len(sample) / plain:.0f} |")
    print(f"\nratio hubkit/pipeline: {plain / ours:.2f}x the throughput")


if __name__ == "__main__":
    main()
