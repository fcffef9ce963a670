"""A train-split gazetteer: the floor a model must clear on text whose names training has seen.

Every entity of the training split becomes an entry (its words, its type) when its words are an
entity of that type in more than `min_share` of their occurrences in training (so that common
words that are sometimes part of a name do not enter). Tagging is a greedy longest match, left to
right. It learns nothing, so where it scores near a model, the model is not using what its own
training data labels; choosing `min_share` belongs on validation, like any setting.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from hubkit.data.labels import entity_spans

Gazetteer = dict[tuple[str, ...], str]


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


def fill_from_gazetteer(tokens: list[str], model_tags: list[str], gazetteer: Gazetteer,
                        max_words: int = 6) -> list[str]:
    """The model's tags, plus every gazetteer match that touches no word the model tagged."""
    tags = list(model_tags)
    for etype, start, end in entity_spans(tag_sentence(tokens, gazetteer, max_words)):
        if all(t == "O" for t in tags[start:end]):
            tags[start:end] = [f"B-{etype}"] + [f"I-{etype}"] * (end - start - 1)
    return tags
