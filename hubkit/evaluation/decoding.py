"""Per-word label scores -> BIO tags: argmax, or the best sequence that is valid BIO (Viterbi).

A token classifier scores each word alone, so its argmax can say `I-LOC` after `O` or after
`B-PER`; seqeval then counts a broken entity. `viterbi_bio` picks the sequence with the highest
summed log-probability among those where every `I-X` follows `B-X` or `I-X` (and a sentence does
not start with `I-X`): the usual constrained decoding of BIO taggers, with no learned weights.
"""

from __future__ import annotations

import numpy as np

from hubkit.data.labels import LABELS

NEG = -1e9
OUTSIDE = LABELS.index("O")


def _allowed(labels: list[str] = LABELS) -> tuple[np.ndarray, np.ndarray]:
    """(start[j], trans[i, j]): 0 where label j may start a sentence / follow label i, NEG elsewhere."""
    n = len(labels)
    start = np.zeros(n)
    trans = np.zeros((n, n))
    for j, lab in enumerate(labels):
        if lab.startswith("I-"):
            start[j] = NEG
            for i, prev in enumerate(labels):
                if prev not in (f"B-{lab[2:]}", lab):
                    trans[i, j] = NEG
    return start, trans


_START, _TRANS = _allowed()


def is_valid_bio(tags: list[str]) -> bool:
    """True when every `I-X` follows `B-X` or `I-X`."""
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev not in (f"B-{tag[2:]}", tag):
            return False
        prev = tag
    return True


def viterbi_bio(log_probs: np.ndarray) -> list[int]:
    """Label ids of the best BIO-valid path through a (words, labels) array of log-probabilities."""
    n_words = len(log_probs)
    if n_words == 0:
        return []
    score = _START + log_probs[0]
    back = np.zeros((n_words, log_probs.shape[1]), dtype=np.int64)
    for t in range(1, n_words):
        cand = score[:, None] + _TRANS  # (previous, current)
        back[t] = cand.argmax(0)
        score = cand.max(0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(n_words - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def decode(log_probs: np.ndarray, bio: bool = True, outside_bias: float = 0.0) -> list[int]:
    """Viterbi when `bio`, else the per-word argmax; `outside_bias` is first added to every word's
    O score (hubkit.evaluation.calibration)."""
    if not len(log_probs):
        return []
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if outside_bias:  # a new array: the caller's scores stay as they were
        log_probs = log_probs + outside_bias * (np.arange(log_probs.shape[1]) == OUTSIDE)
    if not bio:
        return [int(i) for i in log_probs.argmax(-1)]
    return viterbi_bio(log_probs)


def repair_bio(tags: list[str]) -> list[str]:
    """Tags as hubkit.data.labels.entity_spans reads them: an I-X that does not continue an X starts one (B-X)."""
    out: list[str] = []
    for tag in tags:
        if tag.startswith("I-") and (not out or out[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
    return out
