"""Entity-level NER scores at word level: seqeval (strict IOB2), per language and per type.

Scores come from `seqeval.metrics` directly (`evaluate.load("seqeval")` needs the Hub). Strict
mode counts an entity as correct only when its type and both boundaries match, and an `I-X` that
does not continue an `X` entity starts nothing (as in the CoNLL scorer with IOB2).

The confusion matrix pairs spans: a gold span and a predicted span with the same boundaries
form a cell (gold type, predicted type); a gold span with no predicted span on the same words is
"missed", a predicted span with no gold span on the same words is "spurious". Its diagonal is
exactly seqeval's true positives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, Entities

from hubkit.data.labels import ENTITY_TYPES

MISSED = "missed"
SPURIOUS = "spurious"


def _entities(tags: list[list[str]]) -> list[set[tuple[int, str, int, int]]]:
    """Per sentence: the set of (sentence, type, start, end) entities seqeval's strict mode sees."""
    ents = Entities(tags, IOB2)
    return [{e.to_tuple() for e in sent} for sent in ents.entities]


def _prf(n_correct: int, n_pred: int, n_gold: int) -> dict:
    p = n_correct / n_pred if n_pred else 0.0
    r = n_correct / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "n_gold": n_gold, "n_pred": n_pred, "n_correct": n_correct}


def _check(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted (every word must be scored)")


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Overall and per-type P/R/F1 (seqeval strict, IOB2) with entity counts."""
    _check(gold, pred)
    gold, pred = [list(s) for s in gold], [list(s) for s in pred]
    n_words = sum(len(s) for s in gold)
    report = classification_report(gold, pred, output_dict=True, mode="strict", scheme=IOB2, zero_division=0) if n_words else {}
    g_ents, p_ents = _entities(gold), _entities(pred)
    per_type = {}
    for etype in sorted(set(ENTITY_TYPES) | {k for k in report if "avg" not in k}):
        n_gold = sum(1 for s in g_ents for e in s if e[1] == etype)
        n_pred = sum(1 for s in p_ents for e in s if e[1] == etype)
        n_correct = sum(1 for gs, ps in zip(g_ents, p_ents) for e in gs & ps if e[1] == etype)
        per_type[etype] = _prf(n_correct, n_pred, n_gold)
        if etype in report:  # seqeval is the reference; the counts above must agree with it
            assert abs(report[etype]["f1-score"] - per_type[etype]["f1"]) < 1e-9, (etype, report[etype])
    n_gold = sum(len(s) for s in g_ents)
    n_pred = sum(len(s) for s in p_ents)
    n_correct = sum(len(gs & ps) for gs, ps in zip(g_ents, p_ents))
    overall = _prf(n_correct, n_pred, n_gold)
    if "micro avg" in report:
        overall.update(precision=float(report["micro avg"]["precision"]), recall=float(report["micro avg"]["recall"]),
                       f1=float(report["micro avg"]["f1-score"]))
    n_same = sum(g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    overall["word_accuracy"] = n_same / n_words if n_words else 0.0
    return {"overall": overall, "per_type": per_type, "n_sentences": len(gold), "n_words": n_words}


def confusion(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Span-level confusion: rows gold type (+ "spurious"), columns predicted type (+ "missed")."""
    _check(gold, pred)
    types = list(ENTITY_TYPES)
    rows, cols = types + [SPURIOUS], types + [MISSED]
    matrix = [[0] * len(cols) for _ in rows]
    for gs, ps in zip(_entities([list(s) for s in gold]), _entities([list(s) for s in pred])):
        g_by_span = {(e[2], e[3]): e[1] for e in gs}
        p_by_span = {(e[2], e[3]): e[1] for e in ps}
        for span, gtype in g_by_span.items():
            ptype = p_by_span.get(span)
            matrix[rows.index(gtype)][cols.index(ptype) if ptype else cols.index(MISSED)] += 1
        for span, ptype in p_by_span.items():
            if span not in g_by_span:
                matrix[rows.index(SPURIOUS)][cols.index(ptype)] += 1
    return {"rows": rows, "columns": cols, "matrix": matrix}


def compute_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                    languages: Iterable[str] | None = None) -> dict:
    """Everything the results file holds: overall, per type, per language, confusion matrix."""
    _check(gold, pred)
    out = score(gold, pred)
    out["confusion"] = confusion(gold, pred)
    if languages is not None:
        languages = list(languages)
        if len(languages) != len(gold):
            raise ValueError(f"{len(languages)} language labels for {len(gold)} sentences")
        out["per_language"] = {}
        for lang in sorted(set(languages)):
            idx = [i for i, l in enumerate(languages) if l == lang]
            sub = score([gold[i] for i in idx], [pred[i] for i in idx])
            sub["confusion"] = confusion([gold[i] for i in idx], [pred[i] for i in idx])
            out["per_language"][lang] = sub
    return out


def save_results(path: str | Path, **sections) -> Path:
    """Write `results.json` (a folder gets `results.json` inside it); returns the file path."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sections, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def format_table(results: dict, title: str = "") -> str:
    """A plain-text table: one row per language (and "all") x type, P/R/F1 in percent."""
    head = f"{'language':<12}{'type':<8}{'P':>7}{'R':>7}{'F1':>7}{'gold':>7}{'pred':>7}"
    lines = ([title] if title else []) + [head, "-" * len(head)]

    def block(name: str, res: dict) -> None:
        for etype, m in [("all", res["overall"])] + sorted(res["per_type"].items()):
            lines.append(f"{name:<12}{etype:<8}{100 * m['precision']:>7.2f}{100 * m['recall']:>7.2f}"
                         f"{100 * m['f1']:>7.2f}{m['n_gold']:>7}{m['n_pred']:>7}")

    for lang, res in sorted(results.get("per_language", {}).items()):
        block(lang, res)
    block("all", results)
    return "\n".join(lines)
