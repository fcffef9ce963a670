"""`make demo`'s pipeline end to end at a smoke budget: datasets, model, local Hub, load back by repo id, tags."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent


def _demo(out: Path, data_dir: Path, **popen):
    argv = [sys.executable, "-m", "hubkit.cli", "demo", "--data-dir", str(data_dir), "--out", str(out),
            "--max-steps", "300", "--quiet"]  # ~3 min quiet, ~12 under load
    env = {**os.environ, "HUBKIT_CPU_THREADS": "1"}
    if popen:
        return subprocess.Popen(argv, env=env, cwd=REPO, text=True, **popen)
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def demo_run(real_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = _demo(out, real_data_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout, json.loads((out / "demo" / "summary.json").read_text())


def test_summary_has_sizes_scores_and_loaded_repos(demo_run):
    out, stdout, summary = demo_run
    assert summary["datasets"]["pakner"]["shahmukhi"] == {"test": 5821, "train": 12192, "validation": 1355,
                                                           "validation_paper": 1220}
    aug = summary["datasets"]["pakner-aug"]["shahmukhi"]
    assert aug["train"] > 12192 and aug["validation"] == 1355
    assert set(summary["model"]["test_f1"]) == {"urdu", "shahmukhi", "sindhi", "pashto"}
    assert summary["model"]["test_f1"]["urdu"] > 30  # trained, not a random model
    loaded = summary["hub"]["loaded"]
    assert loaded["pakner-aug/shahmukhi"] == {k: v for k, v in aug.items()}
    assert loaded["pakner/pashto"]["test_reviewed"] == 105
    assert loaded["pipeline_entities"], "the model loaded by repo id found no entity"
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]", "make space"):
        assert step in stdout


def test_examples_have_exact_offsets(demo_run):
    from hubkit.demo import EXAMPLES

    _, _, summary = demo_run
    assert sum(len(e) for e in summary["examples"].values()) > 0
    for lang, ents in summary["examples"].items():
        for e in ents:
            assert EXAMPLES[lang][e["start"]:e["end"]] == e["text"]


def test_server_is_gone_and_a_second_run_reuses_the_cache(demo_run, real_data_dir):
    out, _, summary = demo_run
    port = urlsplit(summary["hub"]["endpoint"]).port
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more
    trained = (out / "models" / "demo" / "results.json").stat().st_mtime_ns
    again = _demo(out, real_data_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (out / "models" / "demo" / "results.json").stat().st_mtime_ns == trained
    assert "HF_TOKEN" not in again.stdout and "hf_test_" not in again.stdout + again.stderr


def test_ctrl_c_leaves_no_server_and_no_child(real_data_dir, demo_run):
    out, _, _ = demo_run
    # A shell's background job (`make test &`) ignores SIGINT and its children inherit that: Ctrl-C as
    # a terminal delivers it needs the default disposition back.
    proc = _demo(out, real_data_dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600
    for line in proc.stdout:
        if line.startswith("[3/4]") or time.monotonic() > deadline:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children == []
