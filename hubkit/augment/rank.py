"""Ranking augmentation candidates with a fine-tuned NER model, and keeping the best.

The model tags every candidate (batches sorted by length, each distinct token sequence tagged
once: candidates of different sentences can coincide); a candidate's score is the entity-level
F1 (seqeval, strict IOB2) of that prediction against the candidate's own tags: 1.0 means the
model reads the new sentence back exactly as it was built. When neither the tags nor the
prediction contain an entity the score is defined as 1.0 (they agree; seqeval would say 0/0).
Candidates always hold at least one entity, so this case only arises for hand-made inputs.

Policies: `x1` best candidate per sentence, `x2` best two, `all-correct` every candidate scored
1.0, `all` every candidate. Ties keep generation order (deterministic). Without a model (no
scores), `x1`/`x2`/`all` keep the first one/two/all candidates in generation order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from hubkit.data.labels import LABELS

POLICIES = ("x1", "x2", "all-correct", "all")


def sentence_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> list[float]:
    """Per sentence: entity F1 of `pred` vs `gold` as seqeval's strict IOB2 mode counts entities."""
    from seqeval.scheme import IOB2, Entities

    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    g_ents = Entities([list(s) for s in gold], IOB2).entities
    p_ents = Entities([list(s) for s in pred], IOB2).entities
    out = []
    for gs, ps in zip(g_ents, p_ents):
        g = {e.to_tuple()[1:] for e in gs}
        p = {e.to_tuple()[1:] for e in ps}
        if not g and not p:
            out.append(1.0)
            continue
        tp = len(g & p)
        out.append(2 * tp / (len(g) + len(p)))  # = 2PR/(P+R)
    return out


def load_model(model):
    """(model, tokenizer) from a folder/Hub id, or a given (model, tokenizer) pair; on GPU when there is one."""
    import torch

    if isinstance(model, (tuple, list)):
        mdl, tok = model
    else:
        from hubkit.models.encoders import load_token_classifier

        mdl, tok = load_token_classifier(str(model))
    if not getattr(tok, "is_fast", False):
        raise ValueError("ranking needs a fast tokenizer (word_ids) to map sub-words back to words")
    if torch.cuda.is_available():
        mdl = mdl.to("cuda")
    return mdl, tok


def predict(model, token_lists: Sequence[Sequence[str]], batch_size: int = 64, max_length: int = 256,
            progress: bool = True) -> list[list[str]]:
    """Predicted tag per word (first sub-word's label) for each token list; each distinct list tagged once."""
    import datasets

    from hubkit.data.windows import model_max_length
    from hubkit.evaluation.predict import predict_words

    mdl, tok = load_model(model)
    # Never more tokens than the model has positions for (long sentences are cut into windows).
    max_length = min(max_length, model_max_length(mdl), getattr(tok, "model_max_length", max_length) or max_length)
    unique = list(dict.fromkeys(tuple(t) for t in token_lists))
    ds = datasets.Dataset.from_dict({"tokens": [list(u) for u in unique], "ner_tags": [[0] * len(u) for u in unique]})
    preds = predict_words(mdl, tok, ds, batch_size=batch_size, max_length=max_length, desc="ranking",
                          progress=progress, bio_decoding=False) if unique else []
    by_tokens = dict(zip(unique, preds))
    return [by_tokens[tuple(t)] for t in token_lists]


def score_candidates(cands: list, model, batch_size: int = 64, progress: bool = True) -> list[float]:
    """Set `.score` of each candidate (objects with .tokens and .ner_tags ids) and return the scores."""
    if not cands:
        return []
    preds = predict(model, [c.tokens for c in cands], batch_size=batch_size, progress=progress)
    gold = [[LABELS[t] for t in c.ner_tags] for c in cands]
    scores = sentence_f1(gold, preds)
    for c, s in zip(cands, scores):
        c.score = s
    return scores


def select(cands: list, policy: str) -> list:
    """Keep candidates by policy; groups by `.orig_id`, order within a group = generation order."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if policy == "all":
        return list(cands)
    if policy == "all-correct":
        if any(c.score is None for c in cands):
            raise ValueError("policy 'all-correct' needs scored candidates (rank with a model first)")
        return [c for c in cands if c.score == 1.0]
    n = 1 if policy == "x1" else 2
    groups: dict[str, list] = defaultdict(list)
    for c in cands:
        groups[c.orig_id].append(c)
    kept = []
    for group in groups.values():
        if any(c.score is None for c in group):
            kept += group[:n]
        else:  # sorted() is stable: equal scores keep generation order
            kept += sorted(group, key=lambda c: -c.score)[:n]
    return kept
