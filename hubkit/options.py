"""Allowed ranges of numeric options, checked when the command line is parsed, before any work starts.

argparse verbs use `ranged(...)` as an option's `type`; the trainers' argument dataclasses list their
fields' ranges in a `ranges` ClassVar, which `check_fields` checks after HfArgumentParser has filled them in.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the value must be above `low`, not equal to it
    high_open: bool = False
    integer: bool = False

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.integer and value != int(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.low is not None and self.high is not None and not (self.low_open or self.high_open):
            return f"{kind} from {self.low:g} to {self.high:g}"
        parts = []
        if self.low is not None:
            parts.append(f"above {self.low:g}" if self.low_open else f"of at least {self.low:g}")
        if self.high is not None:
            parts.append(f"below {self.high:g}" if self.high_open else f"of at most {self.high:g}")
        return " ".join([kind, " and ".join(parts)]).strip()


COUNT = Range(1, integer=True)  # batch sizes, epochs, steps, lengths, jobs, threads, limits
NON_NEGATIVE_INT = Range(0, integer=True)  # seeds, shots
POSITIVE = Range(0, low_open=True)  # learning rates, temperatures, norms
NON_NEGATIVE = Range(0)  # weight decay
SHARE = Range(0, 1)  # ratios and shares
PROBABILITY_BELOW_1 = Range(0, 1, high_open=True)  # dropout
COSINE = Range(-1, 1)
PORT = Range(0, 65535, integer=True)


def ranged(allowed: Range):
    """An argparse `type` that parses the number and refuses one outside `allowed` (argparse names the option)."""

    def parse(text: str):
        try:
            value = int(text) if allowed.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, not {text!r}") from None
        if not allowed.contains(value):
            raise argparse.ArgumentTypeError(f"must be {allowed.describe()}, not {text}")
        return value

    parse.__name__ = allowed.describe()  # argparse's "invalid <name> value" wording, should it be used
    return parse


def check_fields(args) -> None:
    """Raise ValueError naming the first option of dataclass `args` outside its class's `ranges` (a ClassVar:
    HfArgumentParser hands a field's metadata to argparse, which refuses unknown keys)."""
    check_values({f.name: getattr(args, f.name) for f in fields(args)}, getattr(type(args), "ranges", {}))


def check_values(values: dict, ranges: dict, where: str = "") -> None:
    """Raise ValueError for the first `values[name]` (None: unset) outside `ranges[name]`."""
    for name, value in values.items():
        if name in ranges and value is not None and not ranges[name].contains(value):
            raise ValueError(f"{where}--{name} must be {ranges[name].describe()}, not {value}")


__all__ = ["Range", "COUNT", "NON_NEGATIVE_INT", "POSITIVE", "NON_NEGATIVE", "SHARE", "PROBABILITY_BELOW_1",
           "COSINE", "PORT", "ranged", "check_fields",
           "check_values"]
