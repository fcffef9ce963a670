"""`hubkit reproduce CONFIG`: the paper's experiments as a grid, with results users can trust.

A config (YAML, see `experiments/`; `base:` names a config whose values it starts from) names the
model, languages, training-data settings, modes (monolingual, multilingual) and seeds. The runner
builds what the grid needs once and caches it under `<out>/cache` (the `pakner` folder, the ranking
model, the `pakner-aug` folder, the authors' reference sets as dataset folders), trains one model
per cell and seed with `hubkit.training.encoder` (skipping cells whose `results.json` exists), and
writes `RESULTS.md` with mean and standard deviation of test F1 over seeds, per type, plots, and
the paper's figures beside ours. A difference smaller than the seeds' spread is called a tie.

The parts: `config` (reading and checking a config and its bases), `derived` (the datasets the
grid derives: subsets, copies, the authors' sets), `runner` (runs, cache keys, worker processes),
`report` (RESULTS.md and its plot). This module is the command line.
"""

from __future__ import annotations

from pathlib import Path

from hubkit.experiments.config import GridConfig
from hubkit.experiments.report import describe_budget, write_results
from hubkit.experiments.runner import plan, run_grid
from hubkit.options import COUNT, ranged

__all__ = ["GridConfig", "add_cli", "describe_budget", "plan", "run_grid", "write_results"]


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="run the paper's experiment grid and write RESULTS.md",
        description="Run a grid of experiments (languages x training data x mono/multilingual x seeds) from a "
                    "YAML config in experiments/, caching what it can, and write RESULTS.md with mean and "
                    "standard deviation over seeds, plots, and the paper's figures beside ours.")
    p.add_argument("config", type=Path, help="grid config, e.g. experiments/cpu.yaml")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default: results/<config name>); runs/ and cache/ inside are not for git")
    p.add_argument("--data-dir", type=Path, default=None, help="corpora folder (default: $PAKNER_DATA_DIR)")
    p.add_argument("--plan", action="store_true", help="list the runs and stop")
    p.add_argument("--jobs", type=ranged(COUNT), default=None,
                   help="(default: the config's `jobs`, else 1) runs trained side by side in worker processes, each logging to runs/<run>/train.log; "
                        "each run gets the usable cores / jobs torch threads unless train.cpu_threads says otherwise")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    import sys

    from hubkit.data.corpora import default_data_dir

    cfg = GridConfig.load(args.config)
    data_dir = args.data_dir or default_data_dir()
    if data_dir is None and not args.plan:
        raise ValueError("no corpora: pass --data-dir or set PAKNER_DATA_DIR")
    out = args.out or Path("results") / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    print(f"budget: {describe_budget(cfg)}")
    records = run_grid(cfg, out, Path(data_dir) if data_dir else Path("."), only_plan=args.plan,
                       jobs=args.jobs or cfg.jobs)
    if records:
        path = write_results(cfg, records, out, "hubkit " + " ".join(sys.argv[1:]))
        print(f"wrote {path}")
    return 0
