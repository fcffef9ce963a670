"""Time and peak memory of `hubkit build` over all corpora, beside the plain `datasets` path.

The alternative a user would write: `Dataset.from_file` on each Arrow split of the four language
corpora and `to_parquet` (no tag mapping, no checks, no text formats, no card). Each variant runs
in a fresh process, `--repeat` times; we report the median wall time and the peak RSS.

    python benchmarks/bench_build.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = """
import sys, datasets
from pathlib import Path
datasets.disable_progress_bars()
data, out = Path(sys.argv[1]), Path(sys.argv[2])
for folder in ["urdu/wikiann", "shahmukhi/paper-splits", "sindhi/siner-partial", "pashto/wikiann"]:
    for f in sorted((data / folder).glob("*.arrow")):
        ds = datasets.Dataset.from_file(str(f), in_memory=True)
        target = out / folder / (f.stem + ".parquet")
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(target))
"""

HUBKIT_SAME = """
import sys
from hubkit.data.build import build_pakner
from hubkit.data.corpora import PRIMARY
build_pakner(sys.argv[1], sys.argv[2], progress=False, corpus_names=list(PRIMARY.values()))
"""

HUBKIT_ALL = """
import sys
from hubkit.data.build import build_pakner
build_pakner(sys.argv[1], sys.argv[2], progress=False)
"""

# Each child prints its own peak RSS (KiB on Linux) last.
PEAK = "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def run(code: str, data_dir: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code + PEAK, str(data_dir), out], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(proc.stderr)
    return seconds, int(proc.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for name, code in [("plain datasets: 4 language corpora, Arrow -> parquet", PLAIN),
                       ("hubkit build: the same 4 corpora (+ `all` config, checks, card)", HUBKIT_SAME),
                       ("hubkit build: all 9 corpora, 10 configs", HUBKIT_ALL)]:
        runs = [run(code, args.data_dir) for _ in range(args.repeat)]
        results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
    (plain_t, plain_m), (hub_t, hub_m), (all_t, all_m) = results.values()
    print("| variant | median wall (s) | peak RSS (MiB) |")
    print("|---|---|---|")
    for name, (t, m) in results.items():
        print(f"| {name} | {t:.2f} | {m:.0f} |")
    print(f"\nsame corpora, hubkit/plain: time {hub_t / plain_t:.2f}x, peak memory {hub_m / plain_m:.2f}x")
    print(f"all corpora, hubkit/plain: time {all_t / plain_t:.2f}x, peak memory {all_m / plain_m:.2f}x")


if __name__ == "__main__":
    main()
