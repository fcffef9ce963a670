"""A grid config (YAML, see `experiments/`): what `hubkit reproduce` runs, read and checked before any work.

A config may name another with `base: <path>` (relative to the file that names it): that file's
values are the defaults, and sections that are mappings (`train`, `ranker`, `augment`,
`max_train_samples`) are merged key by key, to any depth; anything else (a list, a number, null)
replaces the base's value. A base may itself have a base. Only files are merged: a section that
a config (or its base) sets replaces the built-in default whole (e.g. `ranker`'s 2,000 sentences).
`name` (default: the file's stem) and `note` (a free-text remark shown under the generated budget
in RESULTS.md) are each file's own and never inherited. Every file is checked on its own, so an
error names the file that holds the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hubkit.errors import HubkitError
from hubkit.languages import LANGUAGES
from hubkit.options import COUNT, check_values

GRID_LANGUAGES = tuple(LANGUAGES)  # the order of tables and plots
SETTINGS = ("original", "copies-x2", "random", "cluster-x1", "cluster-x2", "cluster-all-correct", "reference")
MODES = ("mono", "multi")
# `hubkit train` options the runner sets for every run itself; a config may not set them.
SET_PER_RUN = {"output_dir", "seed", "dataset", "languages", "policy", "max_train_samples", "max_eval_samples"}
# Keys a file keeps to itself: a child of `cpu.yaml` is not called `cpu`, nor carries its remark.
OWN_KEYS = ("name", "note")
BASE_KEY = "base"


class GridConfigError(HubkitError):
    """A grid config (or one of its bases) that cannot be used; the message names the file and key."""


@dataclass
class GridConfig:
    name: str
    model: str = "e5-small"
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    languages: list[str] = field(default_factory=lambda: list(GRID_LANGUAGES))
    settings: list[str] = field(default_factory=lambda: list(SETTINGS))
    modes: list[str] = field(default_factory=lambda: ["mono"])
    train: dict = field(default_factory=dict)  # hubkit.training.encoder options (epochs, batch size, ...)
    max_train_samples: dict = field(default_factory=dict)  # per language; null = all
    max_eval_samples: int | None = None
    ranker: dict = field(default_factory=lambda: {"max_train_samples": 2000, "num_train_epochs": 1})
    augment: dict = field(default_factory=dict)  # hubkit.augment.build_aug options (n_candidates, k, ...)
    note: str = ""  # a remark the values cannot say; the budget itself is generated from them
    # Train `reference` on as many sentences as our cluster-x1 set (a random sample of the
    # authors' set), so the comparison is at equal size and cost; implied by max_train_samples.
    reference_matches_x1: bool = False
    jobs: int = 1  # runs trained side by side (CPU budgets: jobs x train.cpu_threads = cores)

    @classmethod
    def load(cls, path: str | Path) -> "GridConfig":
        """The config at `path` with its bases merged in; ValueError naming the file and key if it is not valid."""
        path = Path(path)
        return cls(**{"name": path.stem, **resolve(path)})


def resolve(path: Path) -> dict:
    """The values of the config at `path` over those of its base chain (each file checked on its own)."""
    chain = _base_chain(path)
    merged: dict = {}
    for file, data in reversed(chain):  # the furthest base first
        check_file(data, file)
        inherited = {k: v for k, v in merged.items() if k not in OWN_KEYS}
        merged = deep_merge(inherited, data)
    return merged


def _base_chain(path: Path) -> list[tuple[Path, dict]]:
    """[(file, its values without `base`)], the config first, then its base, its base's base..."""
    chain: list[tuple[Path, dict]] = []
    seen: list[Path] = []
    while path is not None:
        if path.resolve() in seen:
            cycle = " -> ".join(str(p) for p in [*(f for f, _ in chain), path])
            raise GridConfigError(f"{chain[-1][0]}: {BASE_KEY}: the configs name each other in a cycle: {cycle}")
        seen.append(path.resolve())
        data = _read(path)
        base = data.pop(BASE_KEY, None)
        chain.append((path, data))
        path = None if base is None else _base_path(path, base)
    return chain


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GridConfigError(f"{path}: no such config file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise GridConfigError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GridConfigError(f"{path}: a grid config is a mapping of keys to values, not a {type(data).__name__}")
    return data


def _base_path(path: Path, base) -> Path:
    if not isinstance(base, str) or not base.strip():
        raise GridConfigError(f"{path}: {BASE_KEY}: must be the path of another config file, not {base!r}")
    found = path.parent / base
    if not found.is_file():
        raise GridConfigError(f"{path}: {BASE_KEY}: {base} not found (looked for {found})")
    return found


def deep_merge(base: dict, over: dict) -> dict:
    """`base` with `over`'s values on top; mappings on both sides are merged, anything else replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_file(data: dict, path: Path) -> None:
    """Refuse an unknown key, a value of the wrong shape or out of range in one config file's own values."""
    unknown = set(data) - set(GridConfig.__dataclass_fields__) - {"budget_note"}
    if unknown:
        raise GridConfigError(f"{path}: unknown key(s) {sorted(unknown)}")
    if "budget_note" in data:
        raise GridConfigError(f"{path}: budget_note: the budget is now generated from the config's values; "
                         "put a remark they cannot say in `note`")
    _check_shapes(data, path)
    _check_sections(data, path)
    check_values({k: data.get(k) for k in ("jobs", "max_eval_samples")}, {"jobs": COUNT, "max_eval_samples": COUNT},
                 f"{path}: ")
    for key, allowed in (("settings", SETTINGS), ("modes", MODES), ("languages", GRID_LANGUAGES)):
        bad = [v for v in data.get(key, []) if v not in allowed]
        if bad:
            raise GridConfigError(f"{path}: {key} {bad} not in {list(allowed)}")
    sizes = data.get("max_train_samples", {})
    bad = sorted(set(sizes) - set(GRID_LANGUAGES))
    if bad:
        raise GridConfigError(f"{path}: max_train_samples: {bad} not in {list(GRID_LANGUAGES)}")
    check_values(sizes, dict.fromkeys(sizes, COUNT), f"{path}: max_train_samples: ")


_SHAPES = {"train": dict, "ranker": dict, "augment": dict, "max_train_samples": dict, "seeds": list,
           "languages": list, "settings": list, "modes": list, "model": str, "name": str, "note": str,
           "reference_matches_x1": bool}


def _check_shapes(data: dict, path: Path) -> None:
    for key, kind in _SHAPES.items():
        if key in data and not isinstance(data[key], kind):
            what = {dict: "a mapping", list: "a list", str: "a string", bool: "true or false"}[kind]
            raise GridConfigError(f"{path}: {key}: must be {what}, not {data[key]!r}")


def _check_sections(data: dict, path: Path) -> None:
    """`train` and `ranker` hold `hubkit train` options only: a misspelt one is refused, not silently dropped."""
    from hubkit.training.encoder import DataArguments, TrainArguments

    options = (set(TrainArguments.__dataclass_fields__) | set(DataArguments.__dataclass_fields__)) - SET_PER_RUN
    ranges = {**TrainArguments.ranges, **DataArguments.ranges}
    for section, allowed in (("train", options), ("ranker", options | {"max_train_samples"})):
        values = data.get(section, {})
        bad = sorted(set(values) - allowed)
        if bad:
            raise GridConfigError(f"{path}: {section}: {bad} not `hubkit train` options the grid lets a config set")
        check_values(values, ranges, f"{path}: {section}: ")
