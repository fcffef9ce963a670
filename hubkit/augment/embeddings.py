"""Static word vectors shared by the four languages, and one vector per entity mention.

Default: a gensim FastText model trained on the tokens of the four training splits together.
FastText builds a word's vector from its character n-grams too, so a rare name (most names are
rare) still gets a vector close to names that share pieces with it, and the four languages land
in one space because they share script and many names. User vectors can be given instead
(`.vec`/`.txt` word2vec text, `.bin` Facebook FastText, or a gensim `.kv`/`.model` file).

Training is deterministic (one worker, fixed seed), and the vectors are cached under
`cache_dir` by a hash of the training tokens and parameters, so a rerun loads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FastTextParams:
    vector_size: int = 100
    window: int = 5
    min_count: int = 1  # keep every name, however rare
    epochs: int = 5
    min_n: int = 2  # Perso-Arabic names are short: 2-5 character n-grams
    max_n: int = 5
    sg: int = 1  # skip-gram: better vectors for rare words
    bucket: int = 200_000  # n-gram hash buckets (gensim's 2M would take 800 MB at 100 dims)
    seed: int = 0


def corpus_hash(sentences: Sequence[Sequence[str]], params: FastTextParams) -> str:
    h = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode())
    for tokens in sentences:
        h.update("\x1f".join(tokens).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def _epoch_bar(total: int, progress: bool):
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm.auto import tqdm

    class Bar(CallbackAny2Vec):
        def __init__(self):
            self.bar = tqdm(total=total, desc="FastText", unit="epoch", disable=not progress)

        def on_epoch_end(self, model):
            self.bar.update(1)

        def on_train_end(self, model):
            self.bar.close()

    return Bar()


def train_fasttext(sentences: Sequence[Sequence[str]], params: FastTextParams = FastTextParams(),
                   cache_dir: str | Path | None = None, progress: bool = False):
    """FastText KeyedVectors trained on `sentences` (lists of tokens); cached by content when cache_dir is set."""
    from gensim.models import FastText
    from gensim.models.fasttext import FastTextKeyedVectors

    sentences = [list(s) for s in sentences if len(s)]
    if not sentences:
        raise ValueError("no tokens to train word vectors on")
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"fasttext-{corpus_hash(sentences, params)}.kv"
        if path.exists():
            return FastTextKeyedVectors.load(str(path))
    # The epoch bar says what gensim's INFO lines would (dozens per model, into a grid's log);
    # quieted while training only, so a caller's own gensim logging is left as it was.
    gensim_log = logging.getLogger("gensim")
    level = gensim_log.level
    gensim_log.setLevel(logging.WARNING)
    try:
        # workers=1 + seed: gensim's threads race on shared weights, so only one worker is reproducible.
        model = FastText(vector_size=params.vector_size, window=params.window, min_count=params.min_count,
                         min_n=params.min_n, max_n=params.max_n, sg=params.sg, bucket=params.bucket,
                         seed=params.seed, workers=1)
        model.build_vocab(corpus_iterable=sentences)
        model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=params.epochs,
                    callbacks=[_epoch_bar(params.epochs, progress)])
    finally:
        gensim_log.setLevel(level)
    kv = model.wv
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")  # write then rename: safe with parallel runs
        kv.save(str(tmp))
        for extra in tmp.parent.glob(tmp.name + ".*"):  # large arrays gensim stores beside the file
            extra.replace(path.parent / extra.name.replace(tmp.name, path.name))
        tmp.replace(path)
    return kv


def load_vectors(path: str | Path):
    """User-supplied vectors: `.bin` (Facebook FastText), `.vec`/`.txt` (word2vec text), `.kv`/`.model` (gensim)."""
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import load_facebook_vectors

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such vectors file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".bin":
            return load_facebook_vectors(str(path))
        if suffix in (".vec", ".txt"):
            return KeyedVectors.load_word2vec_format(str(path), binary=False)
        if suffix in (".kv", ".model"):
            return KeyedVectors.load(str(path))
    except (ValueError, UnicodeDecodeError, EOFError) as err:
        raise ValueError(f"{path}: cannot read word vectors ({err})") from err
    raise ValueError(f"{path}: unknown vectors format {suffix!r} (expected .bin, .vec, .txt, .kv or .model)")


def has_vector(kv, token: str) -> bool:
    """FastText vectors exist for any word with n-grams; plain KeyedVectors only for known words."""
    from gensim.models.fasttext import FastTextKeyedVectors

    if isinstance(kv, FastTextKeyedVectors):
        return token in kv.key_to_index or kv.bucket > 0
    return token in kv.key_to_index


def mention_vector(kv, tokens: Iterable[str]) -> np.ndarray | None:
    """Mean of the vectors of a mention's tokens (unknown tokens skipped); None when none has one."""
    vecs = [kv[t] for t in tokens if has_vector(kv, t)]
    if not vecs:
        return None
    return np.mean(np.asarray(vecs, dtype=np.float32), axis=0)


def mention_matrix(kv, surfaces: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[int]]:
    """(L2-normalised vectors, indices of `surfaces` that got one): cosine = dot product later."""
    rows, kept = [], []
    for i, s in enumerate(surfaces):
        v = mention_vector(kv, s)
        if v is not None and np.any(v):
            rows.append(v / np.linalg.norm(v))
            kept.append(i)
    dim = kv.vector_size
    return (np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, dim), np.float32)), kept
