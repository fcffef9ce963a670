"""pytest fixtures around hubkit/hub/server.py: a local Hub endpoint the real clients talk to.

Use in a test module with `from tests.hub_fixtures import hub_server  # noqa: F401` (or
`pytest_plugins = ["tests.hub_fixtures"]`). The fixture starts the server, points the environment
at it (HF_ENDPOINT, HF_TOKEN, HF_HUB_DISABLE_XET=1, HF_HUB_OFFLINE=0, a private HF_HOME cache),
patches the values `huggingface_hub` and `datasets` already read at import time, and yields a
`HubHandle`. `hub.run_python(code)` runs code in a fresh interpreter with that environment, which
is the reliable way to load with `datasets`/`transformers` (they read HF_ENDPOINT at import time);
the code prints one JSON line last, which `run_python` returns parsed. Everything is restored
and the server stopped when the module's tests are done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from hubkit.hub.server import HubServer

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class HubHandle:
    server: HubServer
    url: str
    token: str
    env: dict[str, str]  # the variables set for this endpoint (merged over os.environ in subprocesses)

    def run_python(self, code: str, timeout: float = 180, extra_env: dict | None = None) -> object:
        """Run `code` in a fresh interpreter against the server; return its last stdout line as JSON."""
        env = {**os.environ, **self.env, **(extra_env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"subprocess failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        if not lines:
            raise AssertionError(f"subprocess printed nothing; stderr:\n{proc.stderr[-3000:]}")
        return json.loads(lines[-1])


def _patch_imported_clients(url: str) -> list[tuple[object, str, object]]:
    """Point already-imported huggingface_hub/datasets at `url`; return what to restore."""
    saved = []

    def setattr_saved(obj, name, value):
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    from huggingface_hub import constants

    setattr_saved(constants, "ENDPOINT", url)
    setattr_saved(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    setattr_saved(constants, "HF_HUB_OFFLINE", False)
    setattr_saved(constants, "HF_HUB_DISABLE_XET", True)
    if "datasets" in sys.modules:
        from datasets import config

        setattr_saved(config, "HF_ENDPOINT", url)
        setattr_saved(config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}")
        setattr_saved(config, "HF_HUB_OFFLINE", False)
        setattr_saved(config, "USE_PARQUET_EXPORT", False)
    return saved


@pytest.fixture(scope="module")
def hub_server():
    """A running local Hub endpoint for this test module (see the module docstring)."""
    cache = tempfile.mkdtemp(prefix="hubkit-hf-home-")
    server = HubServer().start()
    env = {
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": server.token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HOME": cache,  # fresh caches: nothing from another run or the real Hub leaks in
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    old_env = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    saved = _patch_imported_clients(server.url)
    try:
        yield HubHandle(server=server, url=server.url, token=server.token, env=env)
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
        import shutil

        shutil.rmtree(cache, ignore_errors=True)
