"""The tagger (words and offsets, windows and seams, entities, `hubkit tag`) and language id.

The model tests use a tiny XLM-R token classifier with a real Unigram tokenizer, trained for 150
steps on real sentences of the four languages, built once and cached in pytest's cache folder.
It is made context-free on purpose (position, token-type and attention-output weights held at
zero): each word's prediction then depends on that word alone, so tagging a long text through
overlapping windows must give EXACTLY what tagging it whole gives, which makes the seam test
exact. The stitching rule itself (most central window wins) is checked with a contextual model.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import regex

from hubkit.data.labels import entity_spans
from hubkit.serve.langid import (SHAHMUKHI_THRESHOLD, detect, detect_language, held_out_accuracy,
                                 threshold_accuracy)
from hubkit.serve.tagger import (SENTENCE_END, Tagger, add_cli, default_model, plan_windows, read_lines, split_sentences, split_words)

ZWNJ = "\u200c"

# One sentence per language, written for these tests (not taken from the corpora).
EXAMPLES = {
    "urdu": "وزیر اعظم عمران خان نے لاہور میں پاکستان مسلم لیگ کے جلسے سے خطاب کیا ۔",
    "shahmukhi": "بلھے شاہ قصور وچ رہندے سن تے اوہناں دا کلام پنجاب وچ مشہور اے ۔",
    "sindhi": "شاهه عبداللطيف ڀٽائي سنڌ جو وڏو شاعر هو ۽ ڪراچي ۾ سنڌ يونيورسٽي آهي .",
    "pashto": "حامد کرزی د افغانستان ولسمشر و او په کابل کې اوسېده .",
}

# ----------------------------------------------------------------------------- test model
MODEL_SOURCES = [("urdu/wikiann/train.arrow", 3000), ("urdu/mk-pucit-partial/validation.arrow", 1500),
                 ("shahmukhi/paper-splits/train.arrow", 1500), ("sindhi/siner-partial/validation.arrow", 1500),
                 ("pashto/wikiann/train.arrow", None), ("pashto/wikiann/validation.arrow", None)]
MODEL_VERSION = "context-free-v1"  # bump when build_test_model changes


def _model_files(data_dir: Path) -> list[Path]:
    """What the test model learns from: MODEL_SOURCES of the real corpora, or, in a folder laid out
    like build/pakner (tests/fixtures/pakner-mini), the train splits of the four language configs."""
    shards = [f for lang in EXAMPLES for f in sorted(Path(data_dir).glob(f"{lang}/train-*.parquet"))]
    return shards or [Path(data_dir) / rel for rel, _ in MODEL_SOURCES]


def _model_rows(files: list[Path]) -> list[tuple[list[str], list[int]]]:
    import pyarrow.parquet as pq
    from datasets import Dataset

    rows = []
    if files[0].suffix == ".parquet":
        for f in files:
            table = pq.read_table(f, columns=["tokens", "ner_tags"])
            rows += [(t, g) for t, g in zip(table["tokens"].to_pylist(), table["ner_tags"].to_pylist()) if t]
        return rows
    for path, (_, n) in zip(files, MODEL_SOURCES):
        ds = Dataset.from_file(str(path), in_memory=True)
        ds = ds.select(range(min(n or len(ds), len(ds))))
        rows += [(t, g) for t, g in zip(ds["tokens"], ds["ner_tags"]) if t]
    return rows


def build_test_model(data_dir: Path, cache_root: Path, steps: int = 150, seed: int = 0) -> Path:
    """A trained, context-free tiny token classifier folder (cached by data and version). `data_dir`: the
    real corpora, or a dataset folder laid out like build/pakner (the committed fixture)."""
    import torch

    from hubkit.models.encoders import build_tiny_model, load_token_classifier

    files = _model_files(data_dir)
    key = hashlib.sha256(json.dumps([MODEL_VERSION, steps, seed, [f.stat().st_size for f in files]]).encode())
    folder = Path(cache_root) / f"tagger-test-model-{key.hexdigest()[:12]}"
    if (folder / "model.safetensors").is_file():
        return folder
    rows = _model_rows(files)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a busy 2-core machine: 10x faster than 2 threads
    try:
        text = [" ".join(t) for t, _ in rows]
        if files[0].suffix == ".parquet":
            # The Unigram trainer seeds only pieces found in two distinct words: on a few hundred sentences
            # no whole word becomes a piece, and a context-free model cannot tell words by their first
            # letters. Each word glued to the next gives it a second one.
            text += [" ".join(a + b for a, b in zip(t, t[1:])) for t, _ in rows]
        base = build_tiny_model(text, cache_dir=cache_root, seed=seed, vocab_size=4000)
        model, tok = load_token_classifier(str(base))
        emb = model.roberta.embeddings
        frozen = [emb.position_embeddings.weight, emb.token_type_embeddings.weight]
        for layer in model.roberta.encoder.layer:
            frozen += [layer.attention.output.dense.weight, layer.attention.output.dense.bias]
        with torch.no_grad():
            for p in frozen:
                p.zero_()
                p.requires_grad_(False)
        train = [(t, g) for t, g in rows if any(g)]
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
        model.train()
        for _ in range(steps):
            batch = [train[i] for i in torch.randint(len(train), (32,), generator=gen).tolist()]
            enc = tok([t for t, _ in batch], is_split_into_words=True, truncation=True, max_length=64,
                      padding=True, return_tensors="pt")
            labels = torch.full(enc["input_ids"].shape, -100)
            for r, (_, tags) in enumerate(batch):
                prev = None
                for k, wid in enumerate(enc.word_ids(r)):
                    if wid is not None and wid != prev:
                        labels[r, k] = tags[wid]
                    prev = wid
            model(**enc, labels=labels).loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        tmp = folder.with_name(folder.name + ".tmp")
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        tmp.replace(folder)
    finally:
        torch.set_num_threads(threads)
    return folder


def model_cache_root(request, tmp_path_factory) -> Path:
    """pytest's cache folder (the model survives the run), or a temporary one with -p no:cacheprovider."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("hubkit-tagger")) if cache else tmp_path_factory.mktemp("hubkit-tagger")


@pytest.fixture(scope="session")
def test_model_dir(real_data_dir_or_none, mini_dataset, request, tmp_path_factory) -> Path:
    """Trained on the real corpora, or on the committed fixture dataset without them."""
    return build_test_model(real_data_dir_or_none or mini_dataset, model_cache_root(request, tmp_path_factory))


@pytest.fixture(scope="session")
def tagger(test_model_dir) -> Tagger:
    return Tagger.from_pretrained(str(test_model_dir))


# ----------------------------------------------------------------------------- words, offsets
def test_split_words_keeps_offsets_zwnj_and_punctuation():
    text = (f"  عمران خان نے کہا، لاہور می{ZWNJ}ں بارش ہوئی۔کیا آپ آئیں گے؟ "
            f"قیمت 3.5 روپے (1,000)؛ OK! \u200fنئی{ZWNJ} سطر\u202b ہے")
    words = split_words(text)
    assert [w.text for w in words] == [
        "عمران", "خان", "نے", "کہا", "،", "لاہور", f"می{ZWNJ}ں", "بارش", "ہوئی", "۔", "کیا", "آپ", "آئیں", "گے",
        "؟", "قیمت", "3.5", "روپے", "(", "1,000", ")", "؛", "OK", "!", "نئی", "سطر", "ہے"]
    for w in words:
        assert text[w.start:w.end] == w.text
    # the ZWNJ inside a word is kept, the one at a word's edge is not part of the word
    assert words[6].text == f"می{ZWNJ}ں" and text[words[24].end] == ZWNJ


def test_split_sentences_on_marks_and_line_breaks():
    text = "پہلا جملہ۔ دوسرا؟ تیسرا ، جاری\nنئی سطر . آخری"
    sents = [[w.text for w in s] for s in split_sentences(text)]
    assert sents == [["پہلا", "جملہ", "۔"], ["دوسرا", "؟"], ["تیسرا", "،", "جاری"], ["نئی", "سطر", "."], ["آخری"]]
    assert split_sentences("") == [] and split_sentences(" \n\u200f ") == []


@pytest.mark.parametrize("counts,budget,overlap", [
    ([1, 2, 3, 1, 1, 2, 5, 1, 1], 5, 2), ([2] * 40, 9, 3), ([1] * 7, 10, 2), ([12, 1, 1], 4, 1)])
def test_plan_windows_cover_every_word_within_budget(counts, budget, overlap):
    windows = plan_windows(counts, budget, overlap)
    assert windows[0][0] == 0 and windows[-1][1] == len(counts)
    for (a1, b1), (a2, b2) in zip(windows, windows[1:]):
        assert a1 < a2 < b1 <= b2 or b1 - a1 == 1  # overlap of >= 1 word unless a window is one word
    for a, b in windows:
        assert b - a == 1 or sum(counts[a:b]) <= budget


# ----------------------------------------------------------------------------- entities
def test_entities_slice_the_input_exactly(tagger):
    found = {}
    for lang, text in EXAMPLES.items():
        # a ZWNJ, a bidi mark and double spaces must not shift the offsets
        noisy = "\u200f " + text.replace(" ", "  ", 2) + f" اور{ZWNJ}بھی"
        ents = tagger.tag(noisy)
        assert ents, lang
        for e in ents:
            assert noisy[e.start:e.end] == e.text and e.type in {"PER", "ORG", "LOC"} and 0 < e.score <= 1
            assert e.text == e.text.strip() and not e.text.startswith(ZWNJ)
        found[lang] = {(e.text, e.type) for e in ents}
    assert ("لاہور", "LOC") in found["urdu"] and ("عمران خان", "PER") in found["urdu"]
    assert ("ڪراچي", "LOC") in found["sindhi"]
    assert tagger.tag("") == [] and tagger.tag_batch(["", "۔"]) == [[], []]


def _long_text(data_dir: Path, n_sentences: int, split: str = "urdu/wikiann/test.arrow") -> str:
    """Real sentences (those with no full stop) joined by spaces: one long "sentence"."""
    from datasets import Dataset

    ds = Dataset.from_file(str(data_dir / split), in_memory=True)
    texts = [" ".join(ds[i]["tokens"]) for i in range(n_sentences)]
    return " ".join(t for t in texts if not any(w.text in SENTENCE_END for w in split_words(t)))


def test_windows_keep_entities_at_the_seams(tagger, test_model_dir, real_data_dir):
    text = _long_text(real_data_dir, 40)  # WikiANN titles: many multi-word names
    whole = tagger.tag(text)
    assert tagger.budget >= len(tagger.tokenizer(text)["input_ids"]), "the reference run must fit one window"
    assert len(split_sentences(text)) == 1 and len(whole) >= 10
    seams_crossed = 0
    for max_length in (12, 17, 24, 40):
        small = Tagger.from_pretrained(str(test_model_dir), max_length=max_length, batch_size=7)
        words = split_sentences(text)[0]
        counts = [max(1, len(p)) for p in small.tokenizer([w.text for w in words], add_special_tokens=False)["input_ids"]]
        windows = plan_windows(counts, small.budget, small.overlap)
        assert len(windows) > 5
        got = small.tag(text)
        assert [(e.text, e.type, e.start, e.end) for e in got] == [(e.text, e.type, e.start, e.end) for e in whole]
        assert [e.score for e in got] == pytest.approx([e.score for e in whole], abs=1e-3)
        starts = {w.start: i for i, w in enumerate(words)}
        for e in got:  # an entity whose words lie on both sides of a window's end
            first = starts[e.start]
            last = first + len(split_words(e.text)) - 1
            seams_crossed += any(first < b <= last for _, b in windows[:-1])
    assert seams_crossed >= 3


def test_each_word_takes_the_window_where_it_is_most_central(real_data_dir):
    """With a contextual model, a word's tag comes from the window that centres it."""
    from hubkit.models.encoders import resolve_model

    folder = resolve_model("tiny")  # random weights, attention on: predictions depend on context
    small = Tagger.from_pretrained(folder, max_length=14, overlap=0.5)
    full = Tagger.from_pretrained(folder)
    text = _long_text(real_data_dir, 4, "urdu/mk-pucit-partial/test_1k.arrow")
    words = split_sentences(text)[0]
    counts = [max(1, len(p)) for p in small.tokenizer([w.text for w in words], add_special_tokens=False)["input_ids"]]
    windows = plan_windows(counts, small.budget, small.overlap)
    expected = []
    for wi in range(len(words)):
        a, b = max((w for w in windows if w[0] <= wi < w[1]), key=lambda w: min(wi - w[0], w[1] - 1 - wi))
        expected.append(full.sentence_probs([words[a:b]])[0][wi - a])  # that window on its own
    got = small.sentence_probs([words])[0]
    assert got == pytest.approx(np.array(expected), abs=1e-5)


def test_bio_decoding_gives_valid_tags_where_argmax_does_not(real_data_dir):
    """An untrained model's argmax breaks BIO; the default decoding never does, on the same text. With
    argmax the tags shown are repaired as the entities read them (I-X after O starts an X)."""
    from hubkit.evaluation.decoding import is_valid_bio as _valid_bio
    from hubkit.models.encoders import resolve_model

    folder = resolve_model("tiny")
    text = _long_text(real_data_dir, 4, "urdu/mk-pucit-partial/test_1k.arrow")
    shown = Tagger.from_pretrained(folder, bio_decoding=False).tag_words([text])[0]
    viterbi = Tagger.from_pretrained(folder).tag_words([text])[0]
    assert all(_valid_bio(s.tags) for s in shown) and all(_valid_bio(s.tags) for s in viterbi)
    assert [s.tags for s in shown] != [s.tags for s in viterbi]
    assert [len(s.tags) for s in viterbi] == [len(s.tags) for s in shown]


HOSTILE_LINES = [
    "عمران خان\u2028لاہور میں",  # line separator: a line boundary, as str.splitlines() has it
    "پاکستان\x00 کراچی\x85اسلام آباد",  # NUL, NEL
    "\x1cکراچی\u2029پشاور\x0bکوئٹہ\x0cملتان",
    "لاہور🙂 میں\x07 ❤️ بارش👍🏽",
    "نواز شریف\t\x1b[31mلاہور\x7f",
]


def test_emoji_symbols_and_control_characters_split_words_as_punctuation_does():
    text = "لاہور🙂 میں❤️ ابن-علی_خان $100 👍🏽 عمران\x00خان\x07نے ٪۵۰"
    words = split_words(text)
    assert [w.text for w in words] == ["لاہور", "🙂", "میں", "❤️", "ابن-علی_خان", "$", "100", "👍", "🏽",
                                       "عمران", "خان", "نے", "٪", "۵۰"]
    assert all(text[w.start:w.end] == w.text for w in words)


def test_sentences_end_at_every_line_boundary():
    for sep in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
        assert [[w.text for w in s] for s in split_sentences(f"عمران خان{sep}لاہور")] == [["عمران", "خان"], ["لاہور"]]


def test_every_output_format_is_one_record_per_line_for_any_input(tmp_path, test_model_dir):
    src = tmp_path / "hostile.txt"
    src.write_text("\n".join(HOSTILE_LINES) + "\n", encoding="utf-8")
    n_lines = len(src.read_text(encoding="utf-8").splitlines())
    assert read_lines(str(src)) == src.read_text(encoding="utf-8").splitlines()
    out = _tag_in_every_format(src, test_model_dir, tmp_path)
    records = [json.loads(l) for l in out["jsonl"].splitlines()]
    assert [r["line"] for r in records] == list(range(1, n_lines + 1))
    rows = list(csv.reader(io.StringIO(out["csv"], newline="")))
    assert len(out["csv"].splitlines()) == len(rows) == 1 + sum(len(r["entities"]) for r in records)
    for line in out["conll"].splitlines():
        assert line == "" or (line.count("\t") == 1 and not regex.search(r"[\s\p{Cc}]", line.split("\t")[0]))


def test_conll_shows_the_tags_that_jsonl_and_csv_read(tmp_path, real_data_dir):
    """With --no-bio-decoding too: CoNLL never prints an I- after O that the entities read as B-."""
    from hubkit.evaluation.decoding import is_valid_bio
    from hubkit.models.encoders import resolve_model

    src = tmp_path / "in.txt"
    src.write_text(_long_text(real_data_dir, 4, "urdu/mk-pucit-partial/test_1k.arrow") + "\n", encoding="utf-8")
    out = {}
    for fmt in ("jsonl", "conll"):
        dest = tmp_path / f"out.{fmt}"
        assert _run_cli(["tag", str(src), "--model", resolve_model("tiny"), "--no-bio-decoding", "--format", fmt,
                         "-o", str(dest), "--quiet"]) == 0
        out[fmt] = dest.read_text(encoding="utf-8")
    sentences = [[l.split("\t")[1] for l in block.splitlines()] for block in out["conll"].split("\n\n") if block]
    assert sentences and all(is_valid_bio(tags) for tags in sentences)
    spans = sum(len(entity_spans(tags)) for tags in sentences)
    assert spans == len(json.loads(out["jsonl"])["entities"]) > 0


# ----------------------------------------------------------------------------- hubkit tag
def _run_cli(argv):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def _tag_in_every_format(src: Path, model: Path, tmp_path: Path) -> dict[str, str]:
    out = {}
    for fmt in ("jsonl", "csv", "conll"):
        dest = tmp_path / f"out.{fmt}"
        assert _run_cli(["tag", str(src), "--model", str(model), "--format", fmt, "-o", str(dest), "--quiet"]) == 0
        out[fmt] = dest.read_text(encoding="utf-8")
    return out


def test_cli_tag_formats(tmp_path, test_model_dir, capsys):
    src = tmp_path / "in.txt"
    lines = [EXAMPLES["urdu"], "", EXAMPLES["sindhi"]]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _tag_in_every_format(src, test_model_dir, tmp_path)
    records = [json.loads(l) for l in out["jsonl"].splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3] and records[1]["entities"] == []
    for r in records:
        for e in r["entities"]:
            assert r["text"][e["start"]:e["end"]] == e["text"]
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    assert rows and list(rows[0]) == ["line", "text", "type", "score", "start", "end"]
    assert len(rows) == sum(len(r["entities"]) for r in records)
    conll = [l.split("\t") for l in out["conll"].splitlines() if l]
    assert [w for w, _ in conll] == [w.text for l in lines for w in split_words(l)]
    assert {t for _, t in conll} <= {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    assert "tagged 3 line(s)" in capsys.readouterr().err


def test_cli_tag_reports_bad_input(tmp_path, monkeypatch):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("ٹھیک ہے\n".encode() + b"\xff\xfe broken\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: not UTF-8"):
        read_lines(str(bad))
    monkeypatch.delenv("PAKNER_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_model() is None
    with pytest.raises(ValueError, match="no model"):
        _run_cli(["tag", str(bad)])
    monkeypatch.setenv("PAKNER_MODEL", "some/model")
    assert default_model() == "some/model"


# ----------------------------------------------------------------------------- language id
def test_langid_on_written_examples():
    for lang, text in EXAMPLES.items():
        assert detect_language(text) == lang, (lang, detect(text).scores)
    assert detect_language("اسلام آباد") == "urdu"  # nothing tells: the default
    assert detect_language("میں کل لاہور جا رہا ہوں اور وہ بھی آئے گا") == "urdu"
    assert detect_language("میں کل لہور جا رہیا واں تے اوہ وی آوے گا") == "shahmukhi"


def test_langid_threshold_moves_the_urdu_shahmukhi_boundary():
    text = "اوہ سی"  # Shahmukhi words of weight 6 and 1.8: score 7.8
    assert detect(text).scores["shahmukhi_vs_urdu"] == pytest.approx(7.8)
    assert detect_language(text, threshold=7.0) == "shahmukhi"
    assert detect_language(text, threshold=8.0) == "urdu"


@pytest.mark.integration
def test_langid_threshold_is_the_best_on_held_out_validation(real_data_dir):
    # Chosen on Shahmukhi's held-out validation rows (not the paper's validation, which is inside
    # the train split the weights came from) and Urdu WikiANN validation.
    accuracy = threshold_accuracy(real_data_dir)
    assert accuracy[SHAHMUKHI_THRESHOLD] == max(accuracy.values()), accuracy


@pytest.mark.integration
def test_langid_accuracy_on_held_out_real_sentences(real_data_dir):
    acc = held_out_accuracy(real_data_dir)
    # Measured (python -m hubkit.serve.langid): 1.000, 0.956, 0.929, 1.000, 0.905. The floors sit a
    # little under: the misses are WikiANN titles with no telling word (e.g. a bare name) and
    # short Shahmukhi lines with no function word from the list.
    floors = {"urdu/mk-pucit-partial/test_1k.arrow": 0.99, "urdu/wikiann/test.arrow": 0.94,
              "shahmukhi/paper-splits/test.arrow": 0.91, "sindhi/siner-partial/test_1k.arrow": 0.99,
              "pashto/wikiann/test_reviewed.arrow": 0.88}
    for split, floor in floors.items():
        assert acc[split][0] >= floor, (split, acc[split])


@pytest.mark.parametrize("name", ["tiny", "e5-small", "e5-small-pakner-vocab"])
def test_untrained_builtin_names_are_refused_where_predictions_are_shown(name):
    from hubkit.models.encoders import ModelError
    from hubkit.evaluation.predict import evaluate_model

    with pytest.raises(ModelError, match="untrained tagging head"):
        Tagger.from_pretrained(name)
    with pytest.raises(ModelError, match="untrained tagging head"):
        evaluate_model(name, "unused")


def test_a_jsonl_record_stays_one_line_when_the_library_is_given_line_separators():
    """hubkit tag never passes them (its lines are split there), a library caller may."""
    from hubkit.serve.tagger import write_results

    out = io.StringIO()
    write_results(out, "jsonl", 1, "عمران\u2028خان\u2029لاہور\x85", [])
    assert len(out.getvalue().splitlines()) == 1
    assert json.loads(out.getvalue())["text"] == "عمران\u2028خان\u2029لاہور\x85"


def test_a_file_is_batched_as_one_length_sorted_set(test_model_dir):
    """Windows of all lines are sorted by length together (not 32 lines at a time), so batches pad
    little: the padded lengths the model sees never go down across the file."""
    from hubkit.serve.tagger import tag_file

    tagger = Tagger.from_pretrained(test_model_dir, batch_size=8)
    lengths = []
    model = tagger.model

    def recording(**inputs):
        lengths.append(inputs["input_ids"].shape[1])
        return model(**inputs)

    tagger.model = recording
    short, long = EXAMPLES["pashto"].split()[:3], EXAMPLES["urdu"].split()[:-1] * 3  # no ۔ inside
    lines = [" ".join(short if i % 2 else long) for i in range(80)]  # one sentence each
    tag_file(tagger, lines, io.StringIO(), "jsonl", progress=False)
    assert len(lengths) == 10  # 80 windows in batches of 8
    assert lengths == sorted(lengths)
