"""The Gradio Space, run as a user runs it (`python spaces/pakner-demo/app.py` on 127.0.0.1),
driven through its API with gradio_client and through headless Chromium with Playwright.

The model is the trained, context-free tiny tagger of tests/test_tagger.py (real tokenizer,
150 steps on real sentences, or on the committed made-up fixture tests/fixtures/pakner-mini when
the corpora are absent), so the example sentences get real, repeatable entities.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.test_tagger import EXAMPLES, HOSTILE_LINES, build_test_model, model_cache_root

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

APP = REPO_ROOT / "spaces" / "pakner-demo" / "app.py"
MAX_CHARS = 300
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LANG_NAMES = {"urdu": "Urdu", "shahmukhi": "Shahmukhi Punjabi", "sindhi": "Sindhi", "pashto": "Pashto"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_env(port: int, **extra) -> dict:
    return {**os.environ, "PAKNER_MAX_CHARS": str(MAX_CHARS), "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **extra}


@contextlib.contextmanager
def _running_app(app: Path, env: dict, cwd: Path, log: Path):
    """`python app.py` in a subprocess until it answers on its port; stopped afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(app)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=str(cwd))
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + "gradio_api/info", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"the app did not answer on {url} in 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def tagger_model(real_data_dir_or_none, mini_dataset, request, tmp_path_factory) -> Path:
    """The tagger test model, trained on the real corpora or, without them, on the fixture dataset."""
    return build_test_model(real_data_dir_or_none or mini_dataset, model_cache_root(request, tmp_path_factory))


@pytest.fixture(scope="module")
def space(tagger_model, tmp_path_factory):
    """The app in a subprocess; yields (url, broken model path)."""
    model = tagger_model
    broken = tmp_path_factory.mktemp("broken-model")  # a folder with no config.json
    env = _app_env(_free_port(), PAKNER_MODEL=str(model), PAKNER_MODELS=str(broken), PAKNER_MAX_UPLOAD_MB="0.05")
    log = tmp_path_factory.mktemp("space-log") / "app.log"
    with _running_app(APP, env, REPO_ROOT, log) as url:
        yield url, broken


def test_without_a_model_the_page_says_what_to_run(tmp_path):
    """A checkout with no trained model: no placeholder models in the menu, and the command to run."""
    space_dir = tmp_path / "spaces" / "pakner-demo"  # a checkout with no build/models
    space_dir.mkdir(parents=True)
    for name in ("app.py", "README.md"):
        (space_dir / name).write_text((APP.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    env = _app_env(_free_port(), PAKNER_MODEL="", PAKNER_MODELS="")
    env.pop("SPACE_ID", None)
    with _running_app(space_dir / "app.py", env, tmp_path, tmp_path / "app.log") as url:
        info = json.loads(urllib.request.urlopen(url + "config", timeout=10).read())
        dropdowns = [c["props"] for c in info["components"] if c.get("type") == "dropdown"]
        assert dropdowns and all(not d.get("choices") for d in dropdowns)  # no ORG/... placeholder
        assert any("make demo" in str(c.get("props", {}).get("value", "")) for c in info["components"])
        with pytest.raises(AppError, match="make demo"):
            Client(url, verbose=False).predict(EXAMPLES["urdu"], "Auto", api_name="/tag")


@pytest.fixture(scope="module")
def client(space):
    return Client(space[0], verbose=False)


def test_tag_a_sentence_in_each_language(client):
    for lang, text in EXAMPLES.items():
        highlight, table, status = client.predict(text, "Auto", api_name="/tag")
        rows = table["data"]
        assert table["headers"] == ["text", "type", "score", "start", "end"]
        assert rows, (lang, status)
        for ent_text, etype, score, start, end in rows:
            assert text[int(start):int(end)] == ent_text and etype in {"PER", "LOC", "ORG"} and 0 < score <= 1
        # the highlighted spans put back together are the input, entities labelled
        assert "".join(span["token"] for span in highlight) == text
        labelled = [(s["token"], s["class_or_confidence"]) for s in highlight if s["class_or_confidence"]]
        assert labelled == [(r[0], r[1]) for r in rows]
        assert f"language: {LANG_NAMES[lang]} (detected)" in status
    _, _, status = client.predict(EXAMPLES["urdu"], "Sindhi", api_name="/tag")
    assert "language: Sindhi (chosen)" in status
    assert "Urdu" in client.predict(EXAMPLES["urdu"], api_name="/detect_language")


def test_clear_messages_for_bad_input(client, space):
    with pytest.raises(AppError, match="Empty input"):
        client.predict("   \n ", "Auto", api_name="/tag")
    with pytest.raises(AppError, match=f"too long: {MAX_CHARS + 1} characters, the limit is {MAX_CHARS}"):
        client.predict("ا" * (MAX_CHARS + 1), "Auto", api_name="/tag")
    with pytest.raises(AppError, match=rf"Could not load the model '{space[1]}'.*no config.json"):
        client.predict(EXAMPLES["urdu"], "Auto", str(space[1]), api_name="/tag")


def test_file_upload_returns_a_csv_of_entities(client, tmp_path):
    texts = list(EXAMPLES.values())
    txt = tmp_path / "texts.txt"
    txt.write_text("\n".join(texts) + "\n", encoding="utf-8")
    with_col = tmp_path / "texts.csv"
    with open(with_col, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "text"], *[[i, t] for i, t in enumerate(texts)]])
    for upload in (txt, with_col):
        path, status = client.predict(handle_file(str(upload)), api_name="/tag_file")
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and list(rows[0]) == ["line", "text", "type", "score", "start", "end"]
        assert {int(r["line"]) for r in rows} == {1, 2, 3, 4}
        for r in rows:
            assert texts[int(r["line"]) - 1][int(r["start"]):int(r["end"])] == r["text"]
        assert f"**{len(rows)}** entities in 4 texts" in status
    no_col = tmp_path / "bad.csv"
    no_col.write_text("id,sentence\n1,لاہور\n", encoding="utf-8")
    with pytest.raises(AppError, match="no 'text' column"):
        client.predict(handle_file(str(no_col)), api_name="/tag_file")


def test_an_upload_gives_the_csv_that_hubkit_tag_writes(client, tagger_model, tmp_path):
    """Line and paragraph separators, NUL and other controls: the Space splits the file into the lines
    `hubkit tag` reads and writes the same rows, byte for byte."""
    model = tagger_model
    upload = tmp_path / "hostile.txt"
    upload.write_text("\n".join(HOSTILE_LINES) + "\n", encoding="utf-8")
    path, status = client.predict(handle_file(str(upload)), api_name="/tag_file")
    cli = tmp_path / "cli.csv"
    proc = subprocess.run([sys.executable, "-m", "hubkit.cli", "tag", str(upload), "--model", str(model), "--format",
                           "csv", "-o", str(cli), "--quiet"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Path(path).read_bytes() == cli.read_bytes()
    lines = len(upload.read_text(encoding="utf-8").splitlines())
    assert f"in {lines} texts" in status and lines > len(HOSTILE_LINES)


def test_text_in_none_of_the_four_languages_is_said_so(client):
    for text in ("The Prime Minister spoke in Lahore.", "🙂🙂 👍"):
        with pytest.raises(AppError, match="not Urdu, Shahmukhi, Sindhi or Pashto"):
            client.predict(text, "Auto", api_name="/tag")
        assert "none of the four" in client.predict(text, api_name="/detect_language")


def test_an_upload_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text((EXAMPLES["urdu"] + "\n") * 2000, encoding="utf-8")  # ~170 KB, the limit here is 50 KB
    with pytest.raises(Exception, match=r"(?i)limit is 0.05 MB|maximum|exceed|too large"):
        client.predict(handle_file(str(big)), api_name="/tag_file")


def test_browser_shows_highlighted_entities(space):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    shot = REPO_ROOT / "build" / "test-artifacts" / "space.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(space[0], wait_until="networkidle")
            box = page.locator("#input-text textarea")
            box.click()
            page.keyboard.insert_text(EXAMPLES["urdu"])  # typed, as an IME would commit it
            assert box.evaluate("e => getComputedStyle(e).direction") == "rtl"
            page.locator("#tag-button").click()
            spans = page.locator("#highlighted .token.highlighted")
            spans.first.wait_for(timeout=30_000)
            found = [t.strip() for t in spans.all_inner_texts()]
            legend = page.locator("#highlighted [data-testid='highlighted-text:category-legend']").inner_text()
            page.wait_for_timeout(300)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert "عمران خان" in found and "لاہور" in found
    assert all(label in legend for label in ("PER", "LOC", "ORG"))
