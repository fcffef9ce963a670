"""Vocabulary trimming: fewer pieces, the same segmentation and the same logits where the pieces agree."""

import json
import subprocess
import sys

import pytest
import torch

from hubkit.models.encoders import build_tiny_model, load_tokenizer
from hubkit.models.trim_vocab import TRIM_INFO, TrimError, folder_bytes, segmentation_report, trim_vocabulary

TRAIN = [["عمران", "خان", "لاہور", "میں"], ["کراچی", "سندھ", "جو", "شهر"], ["کابل", "د", "افغانستان"]]
HELD_OUT = [["عمران", "کابل", "میں", "Хубилай", "ISO-3166"]]


def _corpus() -> list[str]:
    words = ["پاکستان", "وزیر", "اعظم", "اسلام", "آباد", "پنجاب", "یونیورسٹی", "ڪراچي", "ملګري", "ملتونه",
             "London", "University", "Wikipedia", "2024", "Москва", "Россия", "Петербург", "Αθήνα", "Ελλάδα",
             "ירושלים", "東京都", "北京市"]
    return [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 4


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(_corpus(), cache_dir=tmp_path_factory.mktemp("tiny"), vocab_size=400)


@pytest.fixture(scope="module")
def trimmed(tiny_dir, tmp_path_factory):
    return trim_vocabulary(tiny_dir, TRAIN, tmp_path_factory.mktemp("trim") / "out")


def test_trimmed_folder_loads_and_is_smaller(tiny_dir, trimmed):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    spec_full = json.loads((tiny_dir / "tokenizer.json").read_text())
    spec_trim = json.loads((trimmed.folder / "tokenizer.json").read_text())
    assert len(spec_trim["model"]["vocab"]) == len(trimmed.kept) < len(spec_full["model"]["vocab"])
    assert trimmed.kept == sorted(trimmed.kept)
    tok = AutoTokenizer.from_pretrained(trimmed.folder)
    model = AutoModelForTokenClassification.from_pretrained(trimmed.folder)
    assert model.config.vocab_size == len(trimmed.kept) == model.get_input_embeddings().weight.shape[0]
    assert tok.convert_ids_to_tokens([tok.pad_token_id, tok.unk_token_id]) == ["<pad>", "<unk>"]
    assert model.config.pad_token_id == tok.pad_token_id
    assert folder_bytes(trimmed.folder) < folder_bytes(tiny_dir)
    assert json.loads((trimmed.folder / TRIM_INFO).read_text())["kept"] == len(trimmed.kept)


def test_same_pieces_same_ids_and_same_logits(tiny_dir, trimmed):
    from transformers import AutoModelForTokenClassification

    full_tok, trim_tok = load_tokenizer(str(tiny_dir)), load_tokenizer(str(trimmed.folder))
    full = AutoModelForTokenClassification.from_pretrained(tiny_dir).eval()
    trim = AutoModelForTokenClassification.from_pretrained(trimmed.folder).eval()
    for words in TRAIN:
        a = full_tok(words, is_split_into_words=True, return_tensors="pt")
        b = trim_tok(words, is_split_into_words=True, return_tensors="pt")
        assert [trimmed.kept[i] for i in b["input_ids"][0].tolist()] == a["input_ids"][0].tolist()
        with torch.no_grad():
            diff = (full(**a).logits - trim(**b).logits).abs().max().item()
        assert diff <= 1e-5


def test_held_out_words_have_no_unknown_pieces(tiny_dir, trimmed):
    full_tok, trim_tok = load_tokenizer(str(tiny_dir)), load_tokenizer(str(trimmed.folder))
    report = segmentation_report(full_tok, trim_tok, trimmed.kept, HELD_OUT)
    assert report["words"] == 5
    assert report["unknown_pieces"] == report["unknown_pieces_full"]
    # words of the training text are segmented as before; the others may split into smaller pieces
    assert report["same_segmentation"] >= 3


def test_not_a_unigram_folder_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TrimError, match="no tokenizer.json"):
        trim_vocabulary(tmp_path, TRAIN, tmp_path / "out")


def test_cli_refuses_a_nonempty_output(tmp_path, tiny_dir):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = subprocess.run([sys.executable, "-m", "hubkit.cli", "trim-vocab", "--model", str(tiny_dir),
                           "--dataset", str(tmp_path / "none"), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "exists and is not empty" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.integration
@pytest.mark.slow
def test_e5_trimmed_on_the_real_corpora(real_data_dir, tmp_path):
    """The flagship's vocabulary: a third of the folder, 0 unknown pieces and >= 99% same segmentation on test."""
    import datasets

    from hubkit.data.build import build_pakner
    from hubkit.models.e5small import convert_e5_small
    from hubkit.models.trim_vocab import trimmed_model_for_dataset

    repo = tmp_path / "pakner"
    build_pakner(real_data_dir, repo, progress=False)
    full = convert_e5_small()
    folder = trimmed_model_for_dataset(full, str(repo), cache_dir=tmp_path / "cache")
    assert folder_bytes(folder) * 3 <= folder_bytes(full)
    full_tok, trim_tok = load_tokenizer(str(full)), load_tokenizer(str(folder))
    full_ids = {p: i for i, (p, _) in enumerate(json.loads((full / "tokenizer.json").read_text())["model"]["vocab"])}
    old_of_new = [full_ids[p] for p, _ in json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]]
    for lang in ("urdu", "shahmukhi", "sindhi", "pashto"):
        test = datasets.load_dataset(str(repo), lang)["test"]
        report = segmentation_report(full_tok, trim_tok, old_of_new, test["tokens"])
        assert report["unknown_pieces"] == 0, lang
        assert report["same_share"] >= 0.99, (lang, report)
    same = [ws for ws in test["tokens"] if segmentation_report(full_tok, trim_tok, old_of_new, [ws])["same_share"] == 1]
    _same_hidden_states(full, folder, full_tok, trim_tok, same[:16])


def _same_hidden_states(full, folder, full_tok, trim_tok, sentences):
    from transformers import AutoModel

    a_model, b_model = AutoModel.from_pretrained(full).eval(), AutoModel.from_pretrained(folder).eval()
    a = full_tok(sentences, is_split_into_words=True, padding=True, return_tensors="pt")
    b = trim_tok(sentences, is_split_into_words=True, padding=True, return_tensors="pt")
    assert a["input_ids"].shape == b["input_ids"].shape
    with torch.no_grad():
        diff = (a_model(**a).last_hidden_state - b_model(**b).last_hidden_state).abs().max().item()
    assert diff <= 1e-5
