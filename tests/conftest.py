"""Shared test fixtures: where the real corpora are, and offline settings."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent


def _real_data_dir() -> Path | None:
    env = os.environ.get("PAKNER_DATA_DIR")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if (candidate / "pashto").is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real corpora (../shared/data or $PAKNER_DATA_DIR); integration tests skip without them."""
    path = _real_data_dir()
    if path is None:
        pytest.skip("real corpora not found (set PAKNER_DATA_DIR)")
    return path
