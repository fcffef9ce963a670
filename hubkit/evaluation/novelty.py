"""Test entities seen in training against new ones: how much of a test split a model could have
memorised, and its recall on each part.

A test mention is *seen* when the same words with the same type are an entity somewhere in the
training split; recall counts a gold mention as found when a predicted entity has its type and
exact word span.
"""

from __future__ import annotations

from hubkit.data.labels import ENTITY_TYPES, entity_spans


def mention_keys(tokens: list[str], tags: list[str]) -> list[tuple[str, str, int, int]]:
    """(type, words joined by a space, start, end) of every entity of one sentence."""
    return [(etype, " ".join(tokens[start:end]), start, end) for etype, start, end in entity_spans(tags)]


def seen_entities(sentences) -> set[tuple[str, str]]:
    """(type, words) of every entity in `sentences`, pairs of (tokens, BIO tags)."""
    return {(etype, text) for tokens, tags in sentences for etype, text, _, _ in mention_keys(tokens, tags)}


def novelty(train: set[tuple[str, str]], tokens: list[list[str]], gold: list[list[str]],
            pred: list[list[str]] | None = None) -> dict:
    """Per type: gold test mentions, how many are seen in `train`, and (with `pred`) the share of
    seen and of new mentions found."""
    counts = {t: {"gold": 0, "seen": 0, "found_seen": 0, "found_new": 0} for t in ENTITY_TYPES}
    for i, (words, tags) in enumerate(zip(tokens, gold)):
        predicted = {(t, s, e) for t, s, e in entity_spans(pred[i])} if pred is not None else set()
        for etype, text, start, end in mention_keys(words, tags):
            seen = (etype, text) in train
            c = counts[etype]
            c["gold"] += 1
            c["seen"] += seen
            c["found_seen" if seen else "found_new"] += (etype, start, end) in predicted
    if pred is None:
        return {t: {"gold": c["gold"], "seen": c["seen"]} for t, c in counts.items()}
    return {t: {"gold": c["gold"], "seen": c["seen"],
                "recall_seen": 100 * c["found_seen"] / max(c["seen"], 1),
                "recall_new": 100 * c["found_new"] / max(c["gold"] - c["seen"], 1)} for t, c in counts.items()}
