"""BIO-valid decoding: never I-X after O or another type, and the best such path."""

import itertools

import numpy as np
import pytest

from hubkit.evaluation.decoding import decode, is_valid_bio as _valid, repair_bio, viterbi_bio
from hubkit.data.labels import LABEL2ID, LABELS


def _brute_force(log_probs: np.ndarray) -> list[int]:
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(LABELS)), repeat=len(log_probs)):
        if _valid([LABELS[i] for i in path]):
            score = sum(log_probs[t, i] for t, i in enumerate(path))
            if score > best:
                best, best_path = score, list(path)
    return best_path


def test_argmax_breaks_bio_and_viterbi_repairs_it():
    probs = np.full((3, len(LABELS)), 0.01)
    probs[0, LABEL2ID["O"]] = 0.9
    probs[1, LABEL2ID["I-LOC"]], probs[1, LABEL2ID["B-LOC"]] = 0.5, 0.4
    probs[2, LABEL2ID["I-LOC"]] = 0.9
    log_probs = np.log(probs)
    assert [LABELS[i] for i in decode(log_probs, bio=False)] == ["O", "I-LOC", "I-LOC"]
    assert [LABELS[i] for i in decode(log_probs)] == ["O", "B-LOC", "I-LOC"]


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_is_the_best_valid_path(seed):
    rng = np.random.default_rng(seed)
    log_probs = np.log(rng.dirichlet(np.ones(len(LABELS)) * 0.3, size=4))
    path = viterbi_bio(log_probs)
    assert _valid([LABELS[i] for i in path])
    assert path == _brute_force(log_probs)


def test_empty_sentence():
    assert decode(np.zeros((0, len(LABELS)))) == []


def test_repair_bio_reads_tags_as_the_entities_do():
    from hubkit.data.labels import entity_spans

    tags = ["O", "I-PER", "I-PER", "I-LOC", "B-ORG", "I-ORG", "O", "I-ORG"]
    fixed = repair_bio(tags)
    assert fixed == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG", "I-ORG", "O", "B-ORG"]
    assert _valid(fixed) and entity_spans(fixed) == entity_spans(tags)
    for seed in range(20):  # random sequences: always valid, never a different entity
        rng = np.random.default_rng(seed)
        tags = [LABELS[i] for i in rng.integers(0, len(LABELS), 12)]
        assert _valid(repair_bio(tags)) and entity_spans(repair_bio(tags)) == entity_spans(tags)
