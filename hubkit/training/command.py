"""The trainers' command lines: `python -m hubkit.train[_llm]`, `accelerate launch hubkit/train[_llm].py`
and `hubkit train[-llm]` all end in the same parser and the same `run`."""

from __future__ import annotations

import argparse
from typing import Callable, Sequence


def run_command(parse_args: Callable, run: Callable, argv: Sequence[str] | None) -> int:
    """Parse, run, and turn a user's mistake (any ValueError, DataError included) into one line."""
    parsed = parse_args(argv)
    try:
        run(*parsed)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from err
    return 0


def add_passthrough_verb(subparsers, verb: str, summary: str, main: Callable, dest: str) -> argparse.ArgumentParser:
    """A `hubkit` verb whose every argument, --help included, goes to the trainer's own parser."""
    p = subparsers.add_parser(verb, help=summary, add_help=False, prefix_chars="\0")
    p.add_argument(dest, nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: main(getattr(args, dest)))
    return p
