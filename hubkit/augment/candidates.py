"""Cluster-based cross-lingual augmentation (Ehsan & Solorio 2025): candidates, then ranking.

For each training sentence with at least one entity, `n` candidates are made by replacing one or
more of its entities with members of the same cluster of the same language, or of an aligned
cluster of a source language (`mode="cluster"`); `mode="random"` draws any bank entity of the
same type from the same languages (the ablation without clusters); `mode="none"` makes nothing.
Inserted words are respelled in the target language's orthography (hubkit.augment.orthography); context words
are never touched. BIO tags are rebuilt for replacements of any length. A candidate is never
empty, never equal to the original or to another candidate, and the whole output is a function
of (data, parameters, seed). Each candidate records where it came from.

`run_augmentation` runs the stages (bank -> vectors -> clusters -> alignment -> candidates ->
ranking by a NER model, hubkit.augment.rank) and returns only the new rows, per language.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from hubkit.augment.bank import Bank, build_bank, check_columns, sentence_mentions, train_split, with_ids
from hubkit.augment.clusters import Alignment, Clustering
from hubkit.data.labels import LABEL2ID
from hubkit.languages import LANGUAGES
from hubkit.options import COSINE, COUNT, NON_NEGATIVE_INT, Range, ranged
from hubkit.augment.orthography import to_orthography

MODES = ("cluster", "random", "none")


@dataclass
class Candidate:
    orig_id: str
    lang: str
    tokens: list[str]
    ner_tags: list[int]
    replacements: list[dict]  # {old, new, start, cluster, source_lang}; start = word index in the original
    mode: str
    index: int  # its position among its sentence's candidates
    score: float | None = None


@dataclass
class Pools:
    """Replacement pools of an entity: one sub-pool per feeding cluster (or language, in random mode),
    each a list of (surface, source_lang, cluster_id). A replacement first picks a sub-pool, then a
    member, so a small language's own cluster is not drowned by Urdu's thousands of names."""

    mode: str
    clustering: Clustering | None = None
    alignment: Alignment | None = None
    bank: Bank | None = None
    sources: Mapping[str, Sequence[str]] | None = None
    _cache: dict = field(default_factory=dict)

    def pool(self, lang: str, etype: str, surface: tuple[str, ...]) -> list[list[tuple[tuple[str, ...], str, str]]]:
        if self.mode == "random":
            key = (lang, etype)
            if key not in self._cache:
                self._cache[key] = [[(e.surface, src, "") for e in self.bank.entries(src, etype)]
                                    for src in (self.sources or {}).get(lang, [lang])]
            return self._cache[key]
        group = self.clustering.groups.get((lang, etype))
        c = group.cluster_of(surface) if group is not None else None
        if c is None:  # mention with no vector: nothing to match it with
            return []
        key = (lang, etype, c)
        if key not in self._cache:
            subs = []
            for link in self.alignment.get(key, []):
                sg = self.clustering.groups[(link.source_lang, etype)]
                cid = sg.cluster_id(link.cluster)
                subs.append([(sg.surfaces[i], link.source_lang, cid) for i in sg.members(link.cluster)])
            self._cache[key] = subs
        return self._cache[key]


def _rng(seed: int, sid: str) -> random.Random:
    """One generator per sentence: the output does not depend on order or on other sentences."""
    digest = hashlib.sha256(f"{seed}\0{sid}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def sentence_candidates(sid: str, lang: str, tokens: list[str], tags: list[int], pools: Pools, n: int,
                        seed: int, max_tries_per_candidate: int = 10) -> list[Candidate]:
    """Up to `n` distinct candidates of one sentence (fewer when the pools cannot give more)."""
    spans = sentence_mentions(tokens, tags, f"{lang} sentence {sid}")
    options = []  # (span, pool) for each replaceable entity
    for etype, start, end in spans:
        old = tuple(tokens[start:end])
        # A sub-pool holding only the entity itself has nothing to offer (others are re-drawn below).
        subs = [sub for sub in pools.pool(lang, etype, old)
                if sub and not (len(sub) == 1 and sub[0][1] == lang and sub[0][0] == old)]
        if subs:
            options.append(((etype, start, end), subs))
    if not options:
        return []
    rng = _rng(seed, sid)
    seen = {(tuple(tokens), tuple(tags))}
    out: list[Candidate] = []
    for _ in range(n * max_tries_per_candidate):
        if len(out) >= n:
            break
        chosen = sorted(rng.sample(range(len(options)), rng.randint(1, len(options))))
        new_tokens, new_tags, reps, pos = [], [], [], 0
        for i in chosen:
            (etype, start, end), subs = options[i]
            sub = subs[rng.randrange(len(subs))]
            old = list(tokens[start:end])
            for _ in range(10):  # re-draw a member that would change nothing (itself, or same spelling)
                surface, src, cid = sub[rng.randrange(len(sub))]
                new = [to_orthography(t, src, lang) for t in surface]  # inserted words only
                if new != old:
                    break
            else:
                new = None
            if new is None:
                break
            new_tokens += tokens[pos:start] + new
            new_tags += list(tags[pos:start]) + [LABEL2ID[f"B-{etype}"]] + [LABEL2ID[f"I-{etype}"]] * (len(new) - 1)
            reps.append({"old": old, "new": new, "start": start, "cluster": cid, "source_lang": src})
            pos = end
        if len(reps) < len(chosen):
            continue
        new_tokens += tokens[pos:]
        new_tags += list(tags[pos:])
        key = (tuple(new_tokens), tuple(new_tags))
        if key in seen or not new_tokens:
            continue
        seen.add(key)
        out.append(Candidate(sid, lang, new_tokens, new_tags, reps, pools.mode, len(out)))
    return out


def generate_candidates(ds, lang: str, pools: Pools, n: int = 5, seed: int = 0, progress: bool = True) -> list[Candidate]:
    from tqdm.auto import tqdm

    if n < 1:
        raise ValueError(f"n_candidates must be >= 1, got {n}")
    out: list[Candidate] = []
    rows = zip(ds["id"], ds["tokens"], ds["ner_tags"])
    for sid, tokens, tags in tqdm(rows, total=len(ds), desc=f"candidates {lang}", unit="sent", disable=not progress):
        out += sentence_candidates(sid, lang, tokens, tags, pools, n, seed)
    return out


# ---------------------------------------------------------------- output

def replacements_feature():
    """One row's replacements: old and new words, word index in the original, cluster, source language."""
    import datasets

    return datasets.List({
        "old": datasets.List(datasets.Value("string")), "new": datasets.List(datasets.Value("string")),
        "start": datasets.Value("int32"), "cluster": datasets.Value("string"),
        "source_lang": datasets.Value("string")})


def augmented_features(*, source: bool, policy: bool):
    """The schema of augmented rows: pakner's columns plus provenance. The augmenter's output
    names its `policy` and drops `source`; ORG/pakner-aug keeps each row's `source` corpus (its
    config names the policy)."""
    import datasets

    from hubkit.data.corpora import features

    return datasets.Features({
        **{name: feature for name, feature in features().items() if source or name != "source"},
        "orig_id": datasets.Value("string"),
        "mode": datasets.Value("string"),
        "replacements": replacements_feature(),
        "rank_score": datasets.Value("float32"),
        **({"policy": datasets.Value("string")} if policy else {}),
    })


def to_dataset(cands: list[Candidate], policy: str):
    import datasets

    return datasets.Dataset.from_dict({
        "id": [f"{c.orig_id}/aug{c.index}" for c in cands],
        "tokens": [c.tokens for c in cands],
        "ner_tags": [c.ner_tags for c in cands],
        "lang": [c.lang for c in cands],
        "orig_id": [c.orig_id for c in cands],
        "mode": [c.mode for c in cands],
        "replacements": [c.replacements for c in cands],
        "rank_score": [c.score for c in cands],
        "policy": [policy] * len(cands),
    }, features=augmented_features(source=False, policy=True))


# ---------------------------------------------------------------- the pipeline

def run_augmentation(train_sets: Mapping[str, object], *, mode: str = "cluster", n_candidates: int = 5, seed: int = 0,
                     k: int | None = None, align_threshold: float = 0.5, sources: Mapping[str, Sequence[str]] | None = None,
                     model=None, policy: str = "x1", cache_dir: str | Path | None = None,
                     report_dir: str | Path | None = None, vectors: str | Path | None = None,
                     fasttext_params=None, batch_size: int = 64, progress: bool = True,
                     targets: Sequence[str] | None = None) -> tuple[dict, dict]:
    """(per-language Datasets of the kept new rows, summary with stage times and counts).

    `targets`: the languages to make candidates for (default: all given); the others only feed
    the bank, vectors and clusters (e.g. Urdu names for Pashto without ranking Urdu's own).
    """
    _check_choices(mode, policy, model)
    times: dict[str, float] = {}
    summary: dict = {"mode": mode, "policy": policy, "seed": seed, "n_candidates": n_candidates, "times_s": times}
    t = time.perf_counter()
    sets = _prepared_sets(train_sets)
    sources = _checked_sources(sources, list(sets))
    summary["sources"] = sources
    if mode == "none":
        return {lang: to_dataset([], policy) for lang in sets}, summary
    bank = build_bank(sets)
    times["bank"] = time.perf_counter() - t
    summary["bank"] = bank.summary()
    pools = Pools(mode, bank=bank, sources=sources)
    if mode == "cluster":
        _cluster(pools, sets, summary, seed=seed, k=k, align_threshold=align_threshold, vectors=vectors,
                 fasttext_params=fasttext_params, cache_dir=cache_dir, report_dir=report_dir, progress=progress)
    langs = _checked_targets(targets, list(sets))
    t = time.perf_counter()
    cands = {lang: generate_candidates(sets[lang], lang, pools, n_candidates, seed, progress) for lang in langs}
    times["candidates"] = time.perf_counter() - t
    summary["candidates"] = {lang: len(c) for lang, c in cands.items()}
    kept = _rank_and_select(cands, model, policy, summary, batch_size, progress)
    return {lang: to_dataset(kept[lang], policy) for lang in langs}, summary


def _check_choices(mode: str, policy: str, model) -> None:
    from hubkit.augment.rank import POLICIES

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if policy == "all-correct" and model is None and mode != "none":
        raise ValueError("policy 'all-correct' needs a NER model (--model) to score the candidates")


def _prepared_sets(train_sets: Mapping[str, object]) -> dict:
    """Each language's training split, with ids, its columns checked."""
    sets = {}
    for lang, ds in train_sets.items():
        ds = with_ids(train_split(ds, lang), lang)
        check_columns(ds, lang)
        sets[lang] = ds
    return sets


def _checked_sources(sources: Mapping[str, Sequence[str]] | None, langs: list[str]) -> dict[str, list[str]]:
    from hubkit.augment.clusters import default_sources

    sources = {t: list(v) for t, v in (sources or default_sources(langs)).items()}
    for target, srcs in sources.items():
        for s in [target, *srcs]:
            if s not in langs:
                raise ValueError(f"sources: {s!r} is not among the given languages {langs}")
    return sources


def _checked_targets(targets: Sequence[str] | None, langs: list[str]) -> list[str]:
    unknown = [t for t in (targets or []) if t not in langs]
    if unknown:
        raise ValueError(f"targets {unknown} are not among the given languages {langs}")
    return list(targets) if targets else langs


def _cluster(pools: Pools, sets: dict, summary: dict, *, seed: int, k: int | None, align_threshold: float,
             vectors, fasttext_params, cache_dir, report_dir, progress: bool) -> None:
    """Vectors -> K-Means per language and type -> cross-lingual alignment, into `pools`."""
    from hubkit.augment.clusters import align_clusters, cluster_bank, write_report
    from hubkit.augment.embeddings import FastTextParams, load_vectors, train_fasttext

    times = summary["times_s"]
    t = time.perf_counter()
    if vectors is not None:
        kv = load_vectors(vectors)
    else:
        params = fasttext_params or FastTextParams(seed=seed)
        kv = train_fasttext([tok for ds in sets.values() for tok in ds["tokens"]], params, cache_dir, progress)
    times["embeddings"] = time.perf_counter() - t
    t = time.perf_counter()
    clustering = cluster_bank(pools.bank, kv, k=k, seed=seed, progress=progress)
    times["clusters"] = time.perf_counter() - t
    t = time.perf_counter()
    alignment = align_clusters(clustering, pools.sources, align_threshold)
    times["alignment"] = time.perf_counter() - t
    pools.clustering, pools.alignment = clustering, alignment
    summary["clusters"] = {f"{l}/{e}": {"k": g.k, "silhouette": g.silhouette, "forms": len(g.surfaces)}
                           for (l, e), g in sorted(clustering.groups.items())}
    summary["aligned_links"] = sum(len(v) - 1 for v in alignment.values())
    if report_dir is not None:
        clustering.save(Path(report_dir) / "clusters")
        write_report(clustering, alignment, report_dir)


def _rank_and_select(cands: dict, model, policy: str, summary: dict, batch_size: int, progress: bool) -> dict:
    """Score every candidate with the NER model (when given), then keep each sentence's by `policy`."""
    from hubkit.augment import rank

    t = time.perf_counter()
    if model is not None:
        everything = [c for lang_cands in cands.values() for c in lang_cands]
        rank.score_candidates(everything, model, batch_size=batch_size, progress=progress)
    summary["times_s"]["ranking"] = time.perf_counter() - t
    kept = {lang: rank.select(c, policy) for lang, c in cands.items()}
    summary["kept"] = {lang: len(v) for lang, v in kept.items()}
    if model is not None:
        summary["mean_score"] = {lang: (sum(c.score for c in v) / len(v) if v else None) for lang, v in cands.items()}
    return kept


# ---------------------------------------------------------------- loading and CLI

def load_train_sets(languages: Sequence[str], data_dir: str | Path | None = None, dataset: str | None = None) -> dict:
    """Training splits: from a built `pakner` folder/Hub id (`dataset`), else from the upstream corpora."""
    if dataset is not None:
        import datasets

        return {lang: datasets.load_dataset(dataset, lang, split="train") for lang in languages}
    from hubkit.data import corpora

    data_dir = Path(data_dir) if data_dir is not None else corpora.default_data_dir()
    out = {}
    for lang in languages:
        if lang not in corpora.PRIMARY:
            raise ValueError(f"unknown language {lang!r}; expected {', '.join(corpora.PRIMARY)}")
        splits = corpora.load_corpus(corpora.PRIMARY[lang], data_dir)
        out[lang] = corpora.to_dataset(splits.splits["train"], lang, corpora.PRIMARY[lang])
    return out


def add_cli(subparsers) -> argparse.ArgumentParser:
    from hubkit.augment.rank import POLICIES

    p = subparsers.add_parser(
        "augment", help="cluster-based cross-lingual augmentation of the training splits",
        description="Make new training sentences by replacing entities with same-cluster entities of the same or "
                    "an aligned language (Ehsan & Solorio 2025), rank them with a NER model, keep the best. "
                    "Stages: entity bank (train splits only) -> FastText vectors -> K-Means per type -> "
                    "cross-lingual alignment -> candidates -> ranking. Writes <out>/<lang>/train_aug.parquet "
                    "(new rows only, with provenance) and <out>/summary.json.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data-dir", help="upstream corpora folder (default: $PAKNER_DATA_DIR)")
    src.add_argument("--dataset", help="a built pakner dataset folder or Hub id (its train splits are used)")
    p.add_argument("--languages", nargs="+", default=list(LANGUAGES))
    p.add_argument("--mode", choices=MODES, default="cluster",
                   help="cluster: same/aligned cluster; random: any same-type entity (ablation); none: no augmentation")
    p.add_argument("--n-candidates", type=ranged(COUNT), default=5, help="candidates per sentence with entities (default 5)")
    p.add_argument("--policy", choices=POLICIES, default="x1",
                   help="x1: best candidate per sentence; x2: best two; all-correct: every candidate the model "
                        "reads back perfectly (needs --model); all: every candidate")
    p.add_argument("--k", type=ranged(Range(2, integer=True)), default=None, help="clusters per language and type (default: best silhouette)")
    p.add_argument("--align-threshold", type=ranged(COSINE), default=0.5, help="min centroid cosine to align clusters")
    p.add_argument("--sources", default="", help="which languages feed which, e.g. 'pashto=urdu,sindhi;sindhi=urdu' "
                                                  "(default: Urdu feeds all; every language feeds itself)")
    p.add_argument("--seed", type=ranged(NON_NEGATIVE_INT), default=0)
    p.add_argument("--model", default=None, help="fine-tuned token-classification model folder or Hub id for ranking "
                                                 "(without it candidates are kept unranked, in generated order)")
    p.add_argument("--vectors", default=None, help="word vectors (.vec/.bin/.kv) instead of training FastText")
    p.add_argument("--cache-dir", default=None, help="where trained FastText vectors are cached")
    p.add_argument("--batch-size", type=ranged(COUNT), default=64)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--report-dir", default=None, help="cluster report: clusters.md, clusters_review.csv, PNG plots")
    p.set_defaults(func=_run_cli)
    return p


def _run_cli(args) -> int:
    from hubkit.augment.clusters import parse_sources

    t0 = time.perf_counter()
    sets = load_train_sets(args.languages, args.data_dir, args.dataset)
    sources = parse_sources(args.sources, args.languages) if args.sources else None
    out, summary = run_augmentation(
        sets, mode=args.mode, n_candidates=args.n_candidates, seed=args.seed, k=args.k,
        align_threshold=args.align_threshold, sources=sources, model=args.model, policy=args.policy,
        cache_dir=args.cache_dir, report_dir=args.report_dir, vectors=args.vectors, batch_size=args.batch_size)
    folder = Path(args.out)
    for lang, ds in out.items():
        (folder / lang).mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(folder / lang / "train_aug.parquet"))
    summary["total_s"] = time.perf_counter() - t0
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"augment ({args.mode}, policy {args.policy}) in {summary['total_s']:.1f} s -> {folder}")
    for stage, sec in summary["times_s"].items():
        print(f"  {stage:<11} {sec:7.1f} s")
    for lang in out:
        print(f"  {lang:<10} {summary.get('candidates', {}).get(lang, 0):>7} candidates, {len(out[lang]):>7} kept")
    return 0
