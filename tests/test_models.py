"""The tiny model's tokenizer: the same vocabulary, ids and scores on every run."""

import json
import random

from hubkit.models.encoders import SPECIAL_TOKENS, build_tiny_model, train_tiny_tokenizer


def _corpus() -> list[str]:
    # Frequent Urdu words (real pieces, near-tied scores) and many characters seen once or twice
    # (Gurmukhi, Hebrew, Armenian, Bengali), which the trainer adds at its floor score in hash order.
    rng = random.Random(0)
    words = ["کراچی", "لاہور", "پاکستان", "میں", "کے", "نے", "عمران", "خان", "دریائے", "سندھ", "بارش", "ہوئی"]
    rare = [chr(c) for c in [*range(0x0A05, 0x0A15), *range(0x05D0, 0x05EA), *range(0x0531, 0x0550), *range(0x0995, 0x09A8)]]
    lines = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(300)]
    lines += [" ".join(rng.sample(rare, 3)) for _ in range(40)]
    return lines


def _vocab(tok) -> list:
    return json.loads(tok.backend_tokenizer.to_str())["model"]["vocab"]


def test_tokenizer_training_is_reproducible():
    corpus = _corpus()
    first, second, third = (_vocab(train_tiny_tokenizer(corpus, vocab_size=300)) for _ in range(3))
    assert first == second == third
    assert [piece for piece, _ in first[:len(SPECIAL_TOKENS)]] == SPECIAL_TOKENS
    assert len({piece for piece, _ in first}) == len(first)


def test_tiny_model_folder_is_rebuilt_byte_for_byte(tmp_path):
    """Two caches, two builds: the same folder name and the same bytes (what makes a grid reproducible)."""
    corpus = _corpus()
    a = build_tiny_model(corpus, cache_dir=tmp_path / "a")
    b = build_tiny_model(corpus, cache_dir=tmp_path / "b")
    assert a.name == b.name
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert build_tiny_model(corpus, cache_dir=tmp_path / "a") == a  # read back from the cache
    assert build_tiny_model(corpus, cache_dir=tmp_path / "a", seed=1) != a


def test_missing_folders_and_hub_ids_are_told_apart(tmp_path):
    """`build/models/ranker` before it exists is a missing folder, `ORG/name` a Hub id not found."""
    import subprocess
    import sys

    (tmp_path / "build").mkdir()
    cases = {"build/models/ranker": "no such folder: build/models/ranker",
             "build/ranker": "no such folder: build/ranker",
             str(tmp_path / "nope"): f"no such folder: {tmp_path / 'nope'}",
             "ORG/e5-small-pakner": "not found on ",
             "nosuchmodel": "not found on "}
    for name, message in cases.items():
        verbs = [["tag", "--model", name, "-"]]
        if name in ("build/models/ranker", "ORG/e5-small-pakner"):
            verbs.append(["evaluate", "--model", name, "--dataset", "x"])
        for verb in verbs:
            proc = subprocess.run([sys.executable, "-m", "hubkit.cli", *verb], input="لاہور\n", cwd=tmp_path,
                                  capture_output=True, text=True, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
            assert proc.returncode == 1 and message in proc.stderr, (verb, proc.stderr[-500:])
            assert "Traceback" not in proc.stderr and "Repo id must be" not in proc.stderr
