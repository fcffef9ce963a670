"""Shared test fixtures: where the real corpora are, the made-up fixture dataset, and offline settings."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
# Written by tests/fixture_dataset.py (tests/test_fixture_dataset.py checks the committed copy is what it writes).
FIXTURE_DATASET = REPO_ROOT / "tests" / "fixtures" / "pakner-mini"


def _real_data_dir() -> Path | None:
    env = os.environ.get("PAKNER_DATA_DIR")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if (candidate / "pashto").is_dir() else None


def pytest_collection_modifyitems(items):
    """Tests that need the real corpora are the `integration` ones: those that take `real_data_dir`."""
    for item in items:
        if "real_data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real corpora (../shared/data or $PAKNER_DATA_DIR); integration tests skip without them."""
    path = _real_data_dir()
    if path is None:
        pytest.skip("real corpora not found (set PAKNER_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def real_data_dir_or_none() -> Path | None:
    """The real corpora, or None without them: for tests that then run on `mini_dataset` instead."""
    return _real_data_dir()


@pytest.fixture(scope="session")
def mini_dataset() -> Path:
    """The committed made-up dataset folder, laid out like build/pakner (configs urdu, shahmukhi, sindhi,
    pashto, all; splits train/validation/test, and test_reviewed for pashto)."""
    assert (FIXTURE_DATASET / "README.md").is_file(), f"{FIXTURE_DATASET} missing: python -m tests.fixture_dataset"
    return FIXTURE_DATASET
