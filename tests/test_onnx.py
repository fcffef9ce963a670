"""`hubkit export-onnx`: the same entities as PyTorch, an int8 variant, and clear errors."""

import json
import subprocess
import sys

import pytest

from hubkit.models.encoders import build_tiny_model, load_token_classifier
from hubkit.models.onnx import ONNX_FILE, ONNX_INFO, OnnxTokenClassifier
from hubkit.serve.export_onnx import ExportError, export_onnx
from hubkit.serve.tagger import Tagger

TEXTS = ["وزیر اعظم عمران خان نے لاہور میں خطاب کیا ۔ کراچی سندھ میں ہے",
         "ڪراچي سنڌ جو وڏو شهر آهي .", "کابل د افغانستان پلازمېنه ده .", "بلھے شاہ قصور وچ رہندے سن"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(TEXTS, cache_dir=tmp_path_factory.mktemp("tiny"), seed=3)


@pytest.fixture(scope="module")
def exported(tiny_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    export_onnx(tiny_dir, root / "fp32")
    export_onnx(tiny_dir, root / "int8", quantize="int8")
    return root


def test_fp32_export_tags_like_pytorch(tiny_dir, exported):
    info = json.loads((exported / "fp32" / ONNX_INFO).read_text())
    assert info["quantize"] == "none" and info["max_abs_logit_difference"] < 1e-4
    torch_tagger = Tagger.from_pretrained(tiny_dir)
    onnx_tagger = Tagger.from_pretrained(exported / "fp32")
    assert isinstance(onnx_tagger.model, OnnxTokenClassifier)
    assert onnx_tagger.tag_batch(TEXTS) == torch_tagger.tag_batch(TEXTS)
    assert sum(map(len, torch_tagger.tag_batch(TEXTS))) > 0  # the check compares entities, not two empty lists


def test_int8_export_is_smaller_and_close(exported):
    fp32, int8 = exported / "fp32", exported / "int8"
    assert (int8 / ONNX_FILE).stat().st_size < (fp32 / ONNX_FILE).stat().st_size
    assert json.loads((int8 / ONNX_INFO).read_text())["quantize"] == "int8"
    assert "int8" in (int8 / "README.md").read_text()
    tags = Tagger.from_pretrained(int8).tag_words(TEXTS)
    assert [len(s.words) for t in tags for s in t] == [len(s.words) for t in Tagger.from_pretrained(fp32).tag_words(TEXTS) for s in t]


def test_cli_tag_and_evaluate_accept_an_onnx_folder(exported, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "hubkit.cli", "tag", str(src), "--model", str(exported / "fp32"),
                           "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        for e in r["entities"]:
            assert r["text"][e["start"]:e["end"]] == e["text"]


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "hubkit.cli", "export-onnx", *map(str, argv)],
                          capture_output=True, text=True)


def test_export_errors_are_clear_and_leave_nothing(tmp_path, tiny_dir):
    missing = _cli(tmp_path / "nope", "--out", tmp_path / "o1")
    assert missing.returncode == 1 and "no such folder" in missing.stderr
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}))
    not_tagger = _cli(base, "--out", tmp_path / "o2")
    assert not_tagger.returncode == 1 and "causal" in not_tagger.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep")
    nonempty = _cli(tiny_dir, "--out", busy)
    assert nonempty.returncode == 1 and "not empty" in nonempty.stderr and (busy / "mine.txt").read_text() == "keep"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    unwritable = _cli(tiny_dir, "--out", blocker / "out")
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr
    for proc in (missing, not_tagger, nonempty, unwritable):
        assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "base", "busy"]  # nothing half-written


def test_loading_an_onnx_folder_runs_no_pickle(exported):
    model, tokenizer = load_token_classifier(str(exported / "fp32"))
    assert isinstance(model, OnnxTokenClassifier) and tokenizer.is_fast
    with pytest.raises(ExportError):
        export_onnx(exported / "fp32", exported / "fp32")  # the output exists and is not empty
