"""Raw text -> entities with character offsets, for the Space and `hubkit tag`.

The path, one way:
1. `split_sentences`: Perso-Arabic text -> sentences of `Word`s. Words are split on whitespace
   and control characters, and every punctuation mark or symbol (۔ ، ؟ ؛, Latin punctuation,
   emoji: Unicode P and S) is a word of its own, as in the corpora, except - and _ inside words;
   ZWNJ/ZWJ stay inside words, bidi and zero-width marks separate them; a digit-internal . or ,
   stays (3.5, 1,000). A sentence ends after ۔ ؟ ? ! . and at every line boundary. Every word
   keeps `start`/`end` into the ORIGINAL text, so nothing is normalised away before the offsets
   are known.
2. Sentences too long for the model are cut into overlapping windows of whole words (budget =
   model max length in sub-words); all windows (of 1,024 lines at a time in `hubkit tag`) are sorted
   by length and run in batches under `torch.inference_mode` (GPU when there is one), or through
   ONNX Runtime for an exported folder. Each word takes the label of its first
   sub-word, from the window in which it is most central, so an entity that straddles a window
   boundary is seen whole with context on both sides.
3. Per sentence, the best BIO-valid tag sequence (Viterbi, hubkit.evaluation.decoding; `bio_decoding=False`:
   each word's argmax), so every output format shows the same valid tags.
4. BIO -> entities with hubkit.data.labels.entity_spans; score = mean softmax probability of the
   entity's words; `text[start:end] == entity.text` always.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import regex

from hubkit.evaluation.calibration import BIAS_RANGE, CONFIG_KEY, model_outside_bias
from hubkit.evaluation.decoding import decode, repair_bio
from hubkit.serve.langid import detect_language
from hubkit.hardware import apply_threads
from hubkit.data.labels import LABELS, entity_spans
from hubkit.languages import LANGUAGES
from hubkit.options import COUNT, ranged

# ----------------------------------------------------------------------------- words
SENTENCE_END = frozenset("۔؟?!.")  # as words of their own; a line boundary also ends a sentence
# What str.splitlines() splits on: lines of a file and sentences of a text end at the same places.
LINE_BOUNDARIES = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Zero-width and bidi controls separate words (users paste them from web pages); ZWNJ (U+200C)
# and ZWJ (U+200D) are spelling inside Urdu/Persian words and stay.
INVISIBLE_SEPARATORS = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u061c\u00ad"
JOINERS = "\u200c\u200d"
_MARK = r"(?![-_])[\p{P}\p{S}]\p{M}*"  # a punctuation mark or symbol (emoji), with its combining marks
_TOKEN_RE = regex.compile(
    rf"(?:(?<=\d)[.,٫٬](?=\d)|[-_]|[^\s\p{{Cc}}\p{{P}}\p{{S}}{INVISIBLE_SEPARATORS}])+"  # a word (3.5, 1,000 kept)
    rf"|{_MARK}")


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Entity:
    text: str
    type: str
    score: float
    start: int
    end: int

    def as_dict(self) -> dict:
        return asdict(self)


def split_words(text: str) -> list[Word]:
    """Words and punctuation marks of `text`, with offsets into `text` (joiners trimmed at the edges)."""
    words = []
    for m in _TOKEN_RE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start] in JOINERS:
            start += 1
        while end > start and text[end - 1] in JOINERS:
            end -= 1
        if start < end:
            words.append(Word(text[start:end], start, end))
    return words


def split_sentences(text: str) -> list[list[Word]]:
    """Sentences of words: a sentence ends after ۔ ؟ ? ! . or at a line boundary (LINE_BOUNDARIES)."""
    sentences: list[list[Word]] = []
    current: list[Word] = []
    for word in split_words(text):
        if current and any(c in LINE_BOUNDARIES for c in text[current[-1].end:word.start]):
            sentences.append(current)
            current = []
        current.append(word)
        if word.text in SENTENCE_END:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def plan_windows(piece_counts: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) word ranges covering all words, each within `budget` sub-words, consecutive
    windows sharing about `overlap` sub-words and at least one word (a single word longer than the
    budget gets a window of its own, which the tokenizer truncates)."""
    n = len(piece_counts)
    if sum(piece_counts) <= budget:
        return [(0, n)]
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and used + piece_counts[end] <= budget:
            used += piece_counts[end]
            end += 1
        end = max(end, start + 1)
        windows.append((start, end))
        if end >= n:
            return windows
        nxt, back = end, 0
        while nxt - 1 > start and back + piece_counts[nxt - 1] <= overlap:
            nxt -= 1
            back += piece_counts[nxt]
        start = max(min(nxt, end - 1), start + 1)  # at least one word seen twice


# ----------------------------------------------------------------------------- the tagger
@dataclass
class TaggedSentence:
    words: list[Word]
    tags: list[str]
    probs: list[float]  # softmax probability of each word's tag


class Tagger:
    """A token-classification model with the hubkit labels, loaded once, tagging raw text."""

    def __init__(self, model, tokenizer, batch_size: int = 32, max_length: int | None = None,
                 overlap: float = 0.25, device: str | None = None, bio_decoding: bool = True,
                 outside_bias: float | None = None, gazetteer=None, language: str | None = None):
        import torch

        from hubkit.data.windows import model_max_length

        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("the tagger needs a fast tokenizer (word_ids) to map sub-words back to words")
        labels = [model.config.id2label[i] for i in sorted(model.config.id2label)]
        if labels != LABELS:
            raise ValueError(f"model labels {labels} are not the hubkit labels {LABELS}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.bio_decoding = bio_decoding  # best BIO-valid sequence per sentence (hubkit.evaluation.decoding), else argmax
        # None: the bias `hubkit calibrate` stored with the model (0 for one never calibrated), or the
        # gazetteer's for the text's language; a number: that bias for every text
        self.outside_bias = model_outside_bias(model.config) if outside_bias is None else outside_bias
        # hubkit.evaluation.gazetteer.StoredGazetteers: names from training, per language, filling or
        # overriding the model's tags; the text's language is `language`, else guessed per text (hubkit.serve.langid)
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        self.gazetteer, self.language = (gazetteer.at_bias(outside_bias) if gazetteer else None), language
        limit = model_max_length(model)
        tok_limit = getattr(tokenizer, "model_max_length", None) or limit
        self.max_length = min(max_length or limit, limit, tok_limit if tok_limit < 10**6 else limit)
        self.budget = self.max_length - tokenizer.num_special_tokens_to_add(pair=False)
        if self.budget < 2:
            raise ValueError(f"max_length {self.max_length} leaves no room for words")
        self.overlap = max(1, int(self.budget * overlap))

    @classmethod
    def from_pretrained(cls, name_or_path: str, trust_remote_code: bool = False, use_gazetteer: bool = True,
                        **kwargs) -> "Tagger":
        """Load a fine-tuned hubkit token classifier (folder, PyTorch or ONNX, or Hub id) and, unless
        `use_gazetteer` is False, the gazetteer.json stored with it (`hubkit gazetteer`); raises
        hubkit.models.encoders.ModelError when it is not one, or for the untrained built-in names (`tiny`, ...)."""
        from hubkit.evaluation.gazetteer import model_gazetteers
        from hubkit.models.encoders import UNTRAINED, ModelError, load_token_classifier

        if str(name_or_path) in UNTRAINED:  # predictions shown to a person must come from a trained model
            raise ModelError(f"{name_or_path!r} names a built-in model with an untrained tagging head: its "
                             "entities would be random. Train it first (hubkit train --model_name_or_path "
                             f"{name_or_path} ... --output_dir DIR) and tag with --model DIR, or run `make demo`")
        model, tokenizer = load_token_classifier(str(name_or_path), trust_remote_code=trust_remote_code)
        gazetteer = model_gazetteers(str(name_or_path)) if use_gazetteer else None
        return cls(model, tokenizer, gazetteer=gazetteer, **kwargs)

    # -- public API
    def tag(self, text: str) -> list[Entity]:
        return self.tag_batch([text])[0]

    def tag_batch(self, texts: Sequence[str]) -> list[list[Entity]]:
        return [entities_of(text, sents) for text, sents in zip(texts, self.tag_words(texts))]

    def tag_words(self, texts: Sequence[str]) -> list[list[TaggedSentence]]:
        """Per text, its sentences with one tag and probability per word."""
        sentences = [split_sentences(t) for t in texts]
        flat = [s for sents in sentences for s in sents]
        langs = [(self.language or detect_language(t)) if self.gazetteer else None for t in texts]
        flat_langs = [lang for sents, lang in zip(sentences, langs) for _ in sents]
        decoded = iter([self._decode(*args) for args in zip(self.sentence_probs(flat), flat, flat_langs)])
        return [[TaggedSentence(sent, *next(decoded)) for sent in sents] for sents in sentences]

    def sentence_probs(self, flat: Sequence[Sequence[Word]]) -> list[np.ndarray]:
        """Per sentence, its (words, labels) probabilities, each word's from the window that centres it."""
        import torch

        whole = self.tokenizer([[w.text for w in s] for s in flat], is_split_into_words=True) if flat else None
        # windows: (sentence index, start word, end word, sub-word count)
        windows = []
        for si, counts in enumerate(_piece_counts(whole, flat)):
            for a, b in plan_windows(counts, self.budget, self.overlap):
                windows.append((si, a, b, sum(counts[a:b])))
        windows.sort(key=lambda w: w[3])  # similar lengths together: little padding
        unseen = (-1, 0)
        o_only = np.eye(len(LABELS))[0]  # a word the model never saw (no sub-words, or truncated) is O
        best = [[(unseen, o_only)] * len(s) for s in flat]  # per word: (centrality, label probabilities)
        with torch.inference_mode():
            for i in range(0, len(windows), self.batch_size):
                batch = windows[i:i + self.batch_size]
                inputs, word_ids = self._encode_windows(flat, whole, batch)
                probs = self.model(**inputs).logits.float().softmax(-1).cpu().numpy()
                for row, (si, a, b, _) in enumerate(batch):
                    seen = set()
                    for tok, wid in enumerate(word_ids[row]):
                        if wid is None or wid in seen:
                            continue
                        seen.add(wid)  # first sub-word of the word
                        word = a + wid
                        centrality = (min(word - a, b - 1 - word), -a)  # a tie goes to the earlier window
                        if centrality > best[si][word][0]:
                            best[si][word] = (centrality, probs[row][tok])
        return [np.array([p for _, p in words]).reshape(len(words), len(LABELS)) for words in best]

    def _encode_windows(self, flat, whole, batch) -> tuple[dict, list[list[int | None]]]:
        """(padded model inputs, word index of every position) of a batch of windows. A window that is
        its whole sentence reuses the sentence's encoding (the common case: one tokenizer call)."""
        ids, word_ids = [], []
        for si, a, b, _ in batch:
            if (a, b) == (0, len(flat[si])) and len(whole["input_ids"][si]) <= self.max_length:
                ids.append(whole["input_ids"][si])
                word_ids.append(whole.word_ids(si))
            else:
                enc = self.tokenizer([w.text for w in flat[si][a:b]], is_split_into_words=True, truncation=True,
                                     max_length=self.max_length)
                ids.append(enc["input_ids"])
                word_ids.append(enc.word_ids())
        padded = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")
        if self.tokenizer.padding_side == "left":  # positions shift by the padding in front
            width = padded["input_ids"].shape[1]
            word_ids = [[None] * (width - len(w)) + list(w) for w in word_ids]
        return {k: v.to(self.device) for k, v in padded.items()}, word_ids

    def _decode(self, probs, words: Sequence[Word], language: str | None = None) -> tuple[list[str], list[float]]:
        """(tags, the model's probability of each tag) of one sentence from its (words, labels) probabilities."""
        if not len(probs):
            return [], []
        bias = self.gazetteer.outside_bias(language, self.outside_bias) if self.gazetteer else self.outside_bias
        ids = decode(np.log(np.clip(probs, 1e-12, 1.0)), bio=self.bio_decoding, outside_bias=bias)
        tags = repair_bio([LABELS[i] for i in ids])  # argmax: I-X after O read as B-X, in every format
        if self.gazetteer:
            tags = self.gazetteer.apply(language, [w.text for w in words], tags)
            ids = [LABELS.index(tag) if LABELS[i] != tag else i for i, tag in zip(ids, tags)]  # the gazetteer's words
        return tags, [float(probs[w, i]) for w, i in enumerate(ids)]


def _piece_counts(whole, flat: Sequence[Sequence[Word]]) -> list[list[int]]:
    """Sub-words of each word (at least 1) from the sentences' encoding (`whole`)."""
    counts = []
    for si, sent in enumerate(flat):
        per_word = [0] * len(sent)
        for wid in whole.word_ids(si):
            if wid is not None:
                per_word[wid] += 1
        counts.append([max(1, c) for c in per_word])
    return counts


def entities_of(text: str, sentences: Iterable[TaggedSentence]) -> list[Entity]:
    """BIO tags of words -> entities with offsets into `text` (never across sentences)."""
    entities = []
    for sent in sentences:
        for etype, a, b in entity_spans(sent.tags):
            start, end = sent.words[a].start, sent.words[b - 1].end
            score = sum(sent.probs[a:b]) / (b - a)
            entities.append(Entity(text[start:end], etype, round(score, 4), start, end))
    return entities


# ----------------------------------------------------------------------------- default model
# The flagship (configs/flagship.yaml), then the model `make demo` trains when it is absent.
DEFAULT_LOCAL_MODELS = ("build/models/pakner-e5-small", "build/models/demo")


def default_model(*roots: str | Path) -> str | None:
    """$PAKNER_MODEL, else a locally trained model folder (build/models/pakner-e5-small, else
    build/models/demo, under the current folder or one of `roots`), else None."""
    env = os.environ.get("PAKNER_MODEL", "").strip()
    if env:
        return env
    for base in [Path.cwd(), *map(Path, roots)]:
        for rel in DEFAULT_LOCAL_MODELS:
            if (base / rel / "config.json").is_file():
                return str((base / rel).resolve())
    return None


# ----------------------------------------------------------------------------- CLI
FORMATS = ("jsonl", "csv", "conll")
CSV_COLUMNS = ["line", "text", "type", "score", "start", "end"]


def split_lines(text: str) -> list[str]:
    """The texts of a file: one per line, at every Unicode line boundary (the CLI and the Space alike)."""
    return text.splitlines()


def read_lines(path: str) -> list[str]:
    """Lines of a UTF-8 file (or stdin for '-'); a bad byte is reported with file and line."""
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    name = "<stdin>" if path == "-" else path
    try:
        return split_lines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        line = len(split_lines(data[:err.start].decode("utf-8", errors="replace") + "x"))
        raise ValueError(f"{name}:{line}: not UTF-8 text ({err.reason} at byte {err.start})") from None


_JSON_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})  # json.dumps keeps them


def write_results(out, fmt: str, line_no: int, text: str, sentences: list[TaggedSentence], writer=None) -> None:
    """One input line's results: a JSON line, CSV rows (one per entity) or CoNLL word<TAB>tag lines."""
    if fmt == "jsonl":
        ents = [e.as_dict() for e in entities_of(text, sentences)]
        record = json.dumps({"line": line_no, "text": text, "entities": ents}, ensure_ascii=False)
        out.write(record.translate(_JSON_LINE_BREAKS) + "\n")
    elif fmt == "csv":
        for e in entities_of(text, sentences):
            writer.writerow([line_no, e.text, e.type, e.score, e.start, e.end])
    else:  # conll: word<TAB>tag, blank line after each sentence
        for sent in sentences:
            out.write("".join(f"{w.text}\t{t}\n" for w, t in zip(sent.words, sent.tags)) + "\n")


# Lines tagged together: their windows are sorted by length as one set before batching, so a batch
# pads little (BENCHMARKS.md: padding with one batch's worth of lines at a time against this many).
LINES_PER_CHUNK = 1024


def tagged_lines(tagger: Tagger, lines: list[str], progress=None, lines_per_chunk: int = LINES_PER_CHUNK):
    """(line number, text, sentences) of every line, `lines_per_chunk` lines at a time; `progress`
    wraps the chunks' start indices (tqdm, gr.Progress().tqdm)."""
    starts = range(0, len(lines), lines_per_chunk)
    for i in (progress(starts) if progress else starts):
        chunk = lines[i:i + lines_per_chunk]
        for j, (text, sents) in enumerate(zip(chunk, tagger.tag_words(chunk))):
            yield i + j + 1, text, sents


def tag_file(tagger: Tagger, lines: list[str], out, fmt: str = "jsonl", progress: bool = True) -> int:
    """Tag each line as one text; returns the number of entities written."""
    from tqdm.auto import tqdm

    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    count = 0
    with tqdm(total=len(lines), desc="tagging", unit="line", disable=not progress) as bar:
        for line_no, text, sents in tagged_lines(tagger, lines):
            write_results(out, fmt, line_no, text, sents, writer)
            count += sum(len(entity_spans(s.tags)) for s in sents)
            bar.update(1)
    return count


def _cli_tag(args: argparse.Namespace) -> int:
    model = args.model or default_model()
    if not model:
        raise ValueError("no model: pass --model (folder or Hub id) or set PAKNER_MODEL")
    if args.format not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    lines = read_lines(args.input)
    apply_threads(args.threads)
    tagger = Tagger.from_pretrained(model, batch_size=args.batch_size, bio_decoding=not args.no_bio_decoding,
                                    outside_bias=args.outside_bias, use_gazetteer=not args.no_gazetteer,
                                    language=args.language)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else \
        io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        n = tag_file(tagger, lines, out, args.format, progress=not args.quiet)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()
            out.detach()
    print(f"tagged {len(lines)} line(s), {n} entities", file=sys.stderr)
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit tag`."""
    p = subparsers.add_parser(
        "tag", help="find PER/LOC/ORG in Urdu, Shahmukhi, Sindhi or Pashto text (one text per line)",
        description="Tag raw text with a fine-tuned token classifier. Each input line is one text; "
                    "entities come with character offsets into that line.")
    p.add_argument("input", nargs="?", default="-", help="UTF-8 text file, one text per line (default: stdin)")
    p.add_argument("--model", default=None,
                   help="model folder (PyTorch or ONNX, see `hubkit export-onnx`) or Hub id (default: "
                        "$PAKNER_MODEL, else build/models/pakner-e5-small, else build/models/demo)")
    p.add_argument("--format", default="jsonl", choices=FORMATS,
                   help="jsonl: one record per line with its entities; csv: one row per entity; "
                        "conll: word<TAB>tag per line, blank line between sentences")
    p.add_argument("--batch-size", type=ranged(COUNT), default=32, help="windows per forward pass (default 32)")
    p.add_argument("--output", "-o", default=None, help="write here instead of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=ranged(COUNT), default=None,
                   help="CPU threads (default: $HUBKIT_CPU_THREADS, else all usable cores)")
    p.add_argument("--no-bio-decoding", action="store_true",
                   help="tag each word by its argmax instead of the best BIO-valid sequence (Viterbi)")
    p.add_argument("--outside-bias", type=ranged(BIAS_RANGE), default=None,
                   help="added to every word's O log-probability before decoding, in every language (default: "
                        "the language's bias in the model's gazetteer.json, from `hubkit gazetteer`, else the "
                        f"model's {CONFIG_KEY} from `hubkit calibrate`, else 0)")
    p.add_argument("--no-gazetteer", action="store_true",
                   help="tag with the model alone, without the gazetteer.json stored with it (hubkit gazetteer)")
    p.add_argument("--language", choices=list(LANGUAGES), default=None,
                   help="the language of every line, for the gazetteer's entries (default: guessed per line)")
    p.set_defaults(func=_cli_tag)
    return p
