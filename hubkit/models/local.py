"""Model names -> what `from_pretrained` takes, for the encoders and the causal LMs alike."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from hubkit.errors import ModelError


def check_model_folder(name_or_path: str, error: type[ModelError] = ModelError) -> None:
    """An existing folder must be a transformers model folder (a Hub id is checked when fetched)."""
    path = Path(name_or_path).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise error(f"{path}: no config.json, so this folder is not a transformers model")


def resolve_local(name_or_path: str, builders: Mapping[str, Callable[[], Path]],
                  error: type[ModelError] = ModelError) -> str:
    """A built-in name becomes the folder its builder makes (once; cached); a folder or Hub id
    is returned as given."""
    if name_or_path in builders:
        return str(builders[name_or_path]())
    check_model_folder(name_or_path, error)
    return name_or_path
