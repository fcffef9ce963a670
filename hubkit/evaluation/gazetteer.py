"""A train-split gazetteer: the floor a model must clear on text whose names training has seen.

Every entity of the training split becomes an entry (its words, its type) when its words are an
entity of that type in more than `min_share` of their occurrences in training (so that common
words that are sometimes part of a name do not enter). Tagging is a greedy longest match, left to
right. It learns nothing, so where it scores near a model, the model is not using what its own
training data labels; choosing `min_share` belongs on validation, like any setting.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Iterable, NamedTuple

from hubkit.data.labels import ENTITY_TYPES, entity_spans, ids_to_tags
from hubkit.errors import HubkitError
from hubkit.evaluation.calibration import BIAS_RANGE
from hubkit.languages import LANGUAGES

Gazetteer = dict[tuple[str, ...], str]
logger = logging.getLogger(__name__)


def sentence_pairs(ds) -> list[tuple[list[str], list[str]]]:
    """(tokens, BIO tags) of every row of a dataset split with tokens and ner_tags."""
    return [(tokens, ids_to_tags(tags)) for tokens, tags in zip(ds["tokens"], ds["ner_tags"])]


def _entity_counts(sentences, max_words: int) -> Counter:
    """(words, type) -> how often those words are an entity of that type."""
    counts: Counter = Counter()
    for tokens, tags in sentences:
        for etype, start, end in entity_spans(tags):
            if end - start <= max_words:
                counts[tuple(tokens[start:end]), etype] += 1
    return counts


def _occurrences(sentences, candidates: set[tuple[str, ...]]) -> Counter:
    """How often each candidate word sequence occurs anywhere in `sentences`, entity or not."""
    lengths = sorted({len(c) for c in candidates})
    counts: Counter = Counter()
    for tokens, _ in sentences:
        for n in lengths:
            for i in range(len(tokens) - n + 1):
                gram = tuple(tokens[i:i + n])
                if gram in candidates:
                    counts[gram] += 1
    return counts


def build_gazetteer(sentences: Iterable, max_words: int = 6, min_share: float = 0.5) -> Gazetteer:
    """{words: type} from (tokens, BIO tags) pairs; each entry keeps its most frequent type."""
    sentences = list(sentences)
    as_entity = _entity_counts(sentences, max_words)
    seen = _occurrences(sentences, {words for words, _ in as_entity})
    gazetteer: Gazetteer = {}
    for (words, etype), n in sorted(as_entity.items(), key=lambda item: -item[1]):
        if words not in gazetteer and n / seen[words] > min_share:
            gazetteer[words] = etype
    return gazetteer


def tag_sentence(tokens: list[str], gazetteer: Gazetteer, max_words: int = 6) -> list[str]:
    """BIO tags of the longest gazetteer matches, left to right, never overlapping."""
    tags = ["O"] * len(tokens)
    i = 0
    while i < len(tokens):
        for n in range(min(max_words, len(tokens) - i), 0, -1):
            etype = gazetteer.get(tuple(tokens[i:i + n]))
            if etype:
                tags[i:i + n] = [f"B-{etype}"] + [f"I-{etype}"] * (n - 1)
                i += n
                break
        else:
            i += 1
    return tags


def _written_in(tags: list[str], spans) -> list[str]:
    """`tags` with each (type, start, end) of `spans` written in where it touches no tagged word."""
    tags = list(tags)
    for etype, start, end in spans:
        if all(t == "O" for t in tags[start:end]):
            tags[start:end] = [f"B-{etype}"] + [f"I-{etype}"] * (end - start - 1)
    return tags


def fill_from_gazetteer(gazetteer_tags: list[str], model_tags: list[str]) -> list[str]:
    """The model's tags, plus every gazetteer match (tag_sentence's tags) that touches no word the model tagged."""
    return _written_in(model_tags, entity_spans(gazetteer_tags))


def override_with_gazetteer(gazetteer_tags: list[str], model_tags: list[str]) -> list[str]:
    """Every gazetteer match, plus each of the model's entities that overlaps none of them."""
    return _written_in(gazetteer_tags, entity_spans(model_tags))


def override_outside_longer_entities(gazetteer_tags: list[str], model_tags: list[str]) -> list[str]:
    """override_with_gazetteer, except that a match lying inside a longer entity of the model gives
    way to it: names of parties and bodies often hold a place's name ("Pakistan" in an ORG)."""
    model_spans = entity_spans(model_tags)
    nested = lambda start, end: any(s <= start and end <= e and e - s > end - start  # noqa: E731
                                    for _, s, e in model_spans)
    matches = [m for m in entity_spans(gazetteer_tags) if not nested(m[1], m[2])]
    return _written_in(_written_in(["O"] * len(model_tags), matches), model_spans)


# How a gazetteer's tags (tag_sentence, computed once per sentence) meet a model's: "fill" trusts the model where they overlap, "override" the
# gazetteer, "override-nested" the gazetteer too, but not where its match lies inside a longer
# model entity. Their order is the order ties prefer (hubkit.evaluation.gazetteer_fill): less change first.
MODES = {"fill": fill_from_gazetteer, "override-nested": override_outside_longer_entities,
         "override": override_with_gazetteer}


# ----------------------------------------------------------------------------- stored with a model
GAZETTEER_FILE = "gazetteer.json"  # data only: words and types per language, never code
FORMAT = "hubkit-gazetteer/1"
MAX_FILE_BYTES = 64 * 2**20
MAX_ENTRY_WORDS = 32
Gazetteers = dict[str, Gazetteer]  # language -> its own train split's entries


class GazetteerError(HubkitError):
    pass


class StoredGazetteers(NamedTuple):
    """A model folder's gazetteer.json: per language its entries, how they meet the model's tags,
    and the O bias the model decodes that language with beside them (chosen together on validation)."""
    languages: Gazetteers
    max_words: int
    modes: dict[str, str]  # language -> a key of MODES; "fill" for a language a file leaves out
    outside_biases: dict[str, float] = {}  # language -> O bias; the model's own for a language left out

    def outside_bias(self, language: str | None, default: float) -> float:
        """The O bias to decode `language` with next to these entries (`default`, the model's, when none)."""
        return self.outside_biases.get(language, default)

    def at_bias(self, bias: float | None) -> "StoredGazetteers":
        """These entries, with every language decoded at `bias` when one is given (a user's
        --outside_bias wins over the stored ones); as they are for None."""
        return self if bias is None else self._replace(outside_biases={})

    def apply(self, language: str | None, tokens: list[str], model_tags: list[str]) -> list[str]:
        """The model's tags with `language`'s entries in its mode; as they are for a language without entries."""
        entries = self.languages.get(language)
        if not entries:
            return list(model_tags)
        return MODES[self.modes.get(language, "fill")](tag_sentence(tokens, entries, self.max_words), model_tags)


def save_gazetteers(folder: str | Path, gazetteers: Gazetteers, max_words: int, about: dict,
                    modes: dict[str, str] | None = None, outside_biases: dict[str, float] | None = None) -> Path:
    """Write one gazetteer per language into a model folder as gazetteer.json; `about` says how they
    were built, `modes` how each language's entries meet the model's tags (default: fill), and
    `outside_biases` the O bias of each language that decodes with its own (default: the model's)."""
    body = {"format": FORMAT, "max_words": max_words, **about,
            "modes": {lang: (modes or {}).get(lang, "fill") for lang in gazetteers},
            "outside_biases": dict(outside_biases or {}),
            "languages": {lang: [[list(words), etype] for words, etype in sorted(g.items())]
                          for lang, g in gazetteers.items()}}
    path = Path(folder) / GAZETTEER_FILE
    path.write_text(json.dumps(body, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return path


def load_gazetteers(folder: str | Path) -> StoredGazetteers | None:
    """The StoredGazetteers of a model folder's gazetteer.json, None when it has none;
    a malformed file is a GazetteerError naming the file, the entry and what is wrong."""
    path = Path(folder) / GAZETTEER_FILE
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        raise GazetteerError(f"{path}: {path.stat().st_size} bytes, more than a gazetteer may have ({MAX_FILE_BYTES})")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GazetteerError(f"{path}: not a UTF-8 JSON file ({err})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise GazetteerError(f"{path}: not a hubkit gazetteer (its \"format\" must be {FORMAT!r})")
    max_words = body.get("max_words")
    if not isinstance(max_words, int) or isinstance(max_words, bool) or not 1 <= max_words <= MAX_ENTRY_WORDS:
        raise GazetteerError(f"{path}: \"max_words\" must be a whole number from 1 to {MAX_ENTRY_WORDS}")
    languages = body.get("languages")
    if not isinstance(languages, dict) or not set(languages) <= set(LANGUAGES):
        raise GazetteerError(f"{path}: \"languages\" must map some of {', '.join(LANGUAGES)} to [words, type] lists")
    modes = body.get("modes", {})  # files written before modes existed: every language fills
    if not isinstance(modes, dict) or not set(modes) <= set(languages) or not set(modes.values()) <= set(MODES):
        raise GazetteerError(f"{path}: \"modes\" must map languages of \"languages\" to one of {', '.join(MODES)}")
    return StoredGazetteers({lang: _entries(path, lang, entries, max_words) for lang, entries in languages.items()},
                            max_words, modes, _outside_biases(path, body.get("outside_biases", {})))


def _outside_biases(path: Path, biases) -> dict[str, float]:
    if not isinstance(biases, dict) or not set(biases) <= set(LANGUAGES) \
            or not all(BIAS_RANGE.contains(b) for b in biases.values()):
        raise GazetteerError(f"{path}: \"outside_biases\" must map some of {', '.join(LANGUAGES)} to "
                             f"{BIAS_RANGE.describe()}")
    return {lang: float(b) for lang, b in biases.items()}


def _entries(path: Path, lang: str, entries, max_words: int) -> Gazetteer:
    if not isinstance(entries, list):
        raise GazetteerError(f"{path}: {lang}: must be a list of [words, type] pairs")
    return dict(_entry(f"{path}: {lang} entry {i}", e, max_words) for i, e in enumerate(entries))


def _entry(where: str, entry, max_words: int) -> tuple[tuple[str, ...], str]:
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)):
        raise GazetteerError(f"{where}: must be [[word, ...], type]")
    words, etype = entry
    if not 1 <= len(words) <= max_words or not all(isinstance(w, str) and w and not w.isspace() for w in words):
        raise GazetteerError(f"{where}: needs 1 to {max_words} words, each a non-blank string")
    if etype not in ENTITY_TYPES:
        raise GazetteerError(f"{where}: type {etype!r} is not one of {', '.join(ENTITY_TYPES)}")
    return tuple(words), etype


def model_gazetteers(name_or_path: str) -> StoredGazetteers | None:
    """The gazetteers stored with a model: a folder's gazetteer.json, or a Hub model repo's (None
    when it has none, or when it cannot be fetched: the model then tags alone, with a warning)."""
    if Path(name_or_path).expanduser().exists():
        return load_gazetteers(Path(name_or_path).expanduser())
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        path = hf_hub_download(name_or_path, GAZETTEER_FILE)
    except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError: first
        logger.warning("%s: its %s could not be fetched (offline?); tagging without it", name_or_path, GAZETTEER_FILE)
        return None
    except EntryNotFoundError:
        return None
    return load_gazetteers(Path(path).parent)
