"""Build the `ORG/pakner-aug` dataset repo folder: `ORG/pakner` plus ranked augmented rows.

Per language config (same names as `ORG/pakner`, plus `all`):
- `train`: the original training rows + the candidates kept by the default policy (`x1`);
- `train_x2`, `train_all_correct`: the same originals + the candidates kept by those policies;
- `train_random`: originals + candidates of the `random` ablation (same type, no clusters), `x1`;
- every other split (`validation`, `test`, Shahmukhi's `validation_paper`, Pashto's `test_reviewed`):
  the `ORG/pakner` rows, untouched.
All splits share one feature set; provenance columns are empty on original rows. Select a
policy in training with `--policy x2` (split `train_x2`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

from tqdm.auto import tqdm

from hubkit.data import dataset_repo
from hubkit.languages import LANGUAGES
from hubkit.options import COSINE, COUNT, NON_NEGATIVE_INT, Range, ranged

POLICY_SPLITS = {"x1": "train", "x2": "train_x2", "all-correct": "train_all_correct"}


def aug_features():
    """ORG/pakner-aug's rows: originals and ranked candidates alike."""
    from hubkit.augment.candidates import augmented_features

    return augmented_features(source=True, policy=False)


def _originals(ds):
    """Original rows with empty provenance, in the augmented feature set."""
    n = len(ds)
    return ds.add_column("orig_id", list(ds["id"])).add_column("mode", ["original"] * n) \
        .add_column("replacements", [[] for _ in range(n)]).add_column("rank_score", [None] * n) \
        .cast(aug_features())


def _augmented(rows, source: str):
    """Kept candidates (hubkit.augment.candidates output) in the augmented feature set."""
    rows = rows.remove_columns([c for c in ("policy",) if c in rows.column_names])
    return rows.add_column("source", [source] * len(rows)).select_columns(list(aug_features())).cast(aug_features())


def select_rows(rows, policy: str):
    """Rows of an all-candidates Dataset kept by `policy` (hubkit.augment.rank.select on their scores)."""
    from hubkit.augment.rank import select

    items = [SimpleNamespace(orig_id=o, score=s, row=i)
             for i, (o, s) in enumerate(zip(rows["orig_id"], rows["rank_score"]))]
    return rows.select([item.row for item in select(items, policy)])


def build_pakner_aug(pakner: str | Path, out: str | Path, *, model=None, languages=None, n_candidates: int = 5,
                     seed: int = 0, k: int | None = None, align_threshold: float = 0.5, with_random: bool = True,
                     feeders: list[str] | None = None,
                     cache_dir=None, report_dir=None, batch_size: int = 64, org: str = "ORG",
                     progress: bool = True) -> dict:
    """Augment the train splits of a built `pakner` folder and write the `pakner-aug` folder; return a summary.

    `feeders`: languages whose entities feed the clusters but which get no config of their own
    (e.g. `languages=["pashto"], feeders=["urdu"]`: Urdu names for Pashto, as in the paper).
    """
    import datasets

    from hubkit.augment.candidates import run_augmentation

    datasets.disable_progress_bars()  # per-step bars of casts and selects would bury ours
    pakner, out = Path(pakner), Path(out)
    languages = list(languages or LANGUAGES)
    base = {lang: datasets.load_dataset(str(pakner), lang) for lang in languages}
    train_sets = {lang: dd["train"] for lang, dd in base.items()}
    for lang in feeders or []:
        if lang not in train_sets:
            train_sets[lang] = datasets.load_dataset(str(pakner), lang, split="train")
    start = time.perf_counter()
    candidates, summary = run_augmentation(
        train_sets, mode="cluster", n_candidates=n_candidates, seed=seed, k=k, align_threshold=align_threshold,
        model=model, policy="all", cache_dir=cache_dir, report_dir=report_dir, batch_size=batch_size,
        progress=progress, targets=languages)
    summary = {"cluster": summary}
    random_rows = {}
    if with_random:
        random_rows, summary["random"] = run_augmentation(
            train_sets, mode="random", n_candidates=n_candidates, seed=seed, model=model, policy="x1",
            batch_size=batch_size, progress=progress, targets=languages)
    # without a ranker only the unranked first candidate is meaningful
    policies = {"x1": "train"} if model is None else dict(POLICY_SPLITS)
    configs = _assemble(base, candidates, random_rows if with_random else None, policies, progress)
    summary["kept"] = {lang: {s: len(ds) - len(base[lang]["train"]) for s, ds in configs[lang].items()
                              if s.startswith("train")} for lang in languages}
    summary["ranking_model"] = str(model) if model is not None else None
    summary["seconds"] = time.perf_counter() - start
    _write_repo(out, configs, summary, languages, org)
    return summary


def _assemble(base: dict, candidates: dict, random_rows: dict | None, policies: dict, progress: bool) -> dict:
    """config -> split -> Dataset: originals plus the rows each policy keeps; `all` when every
    language is there."""
    import datasets

    languages = list(base)
    configs: dict[str, dict] = {}
    for lang in tqdm(languages, desc="assembling pakner-aug", unit="lang", disable=not progress):
        originals = _originals(base[lang]["train"])
        splits = {}
        for policy, split in policies.items():
            kept = _augmented(select_rows(candidates[lang], policy), "augmented:cluster")
            splits[split] = datasets.concatenate_datasets([originals, kept])
        if random_rows is not None:
            splits["train_random"] = datasets.concatenate_datasets(
                [originals, _augmented(random_rows[lang], "augmented:random")])
        for split, ds in base[lang].items():
            if split != "train":
                splits[split] = _originals(ds)
        configs[lang] = splits
    if set(languages) == set(LANGUAGES):
        names = [s for s in configs[languages[0]] if all(s in configs[lang] for lang in languages)]
        configs["all"] = {s: datasets.concatenate_datasets([configs[lang][s] for lang in languages]) for s in names}
    return configs


def _write_repo(out: Path, configs: dict, summary: dict, languages: list[str], org: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, splits in configs.items():
        dataset_repo.write_config(out, name, splits)
    meta = {
        "pretty_name": "pakner-aug: cluster-augmented NER data for Urdu, Shahmukhi, Sindhi and Pashto",
        "language": sorted(LANGUAGES[lang] for lang in languages),
        "license": "other",
        "license_name": "mixed-upstream",
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "multilinguality": "multilingual",
        "source_datasets": [f"{org}/pakner"],
        "tags": ["ner", "data-augmentation", *LANGUAGES, "low-resource"],
    }
    default = "all" if "all" in configs else languages[0]
    dataset_repo.write_card(out, dataset_repo.card_yaml(configs, meta, default), _card_body(configs, summary, org))
    (out / "augmentation_summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                                   encoding="utf-8")


def _card_body(configs: dict, summary: dict, org: str) -> str:
    cluster = summary["cluster"]
    rows = []
    for key, v in cluster.get("clusters", {}).items():
        silhouette = "" if v["silhouette"] is None else f"{v['silhouette']:.3f}"
        rows.append(f"| {key} | {v['k']} | {v['forms']} | {silhouette} |")
    clusters = "\n".join(rows)
    return f"""# pakner-aug: cluster-based cross-lingual augmentation of `{org}/pakner`

The training splits of [`{org}/pakner`](https://huggingface.co/datasets/{org}/pakner) with new
sentences made by the method of Ehsan & Solorio (2025): entities grouped by K-Means over static
word vectors per language and type, clusters aligned across languages, each sentence with an
entity given {cluster['n_candidates']} candidates whose entities are replaced from the same or an
aligned cluster (respelled in the target language's letters; context words untouched), ranked by
a NER model that must read the candidate back (entity F1 against the candidate's own tags).

```python
from datasets import load_dataset
ds = load_dataset("{org}/pakner-aug", "pashto")       # train = originals + best candidate (x1)
x2 = load_dataset("{org}/pakner-aug", "pashto", split="train_x2")
```

## Splits
- `train`: originals + the best candidate per sentence (`x1`, the default policy).
- `train_x2`: originals + the best two; `train_all_correct`: originals + every candidate read back perfectly.
- `train_random`: originals + the `random` ablation (same type, any entity, no clusters), ranked `x1`.
- `validation`, `test` (and `validation_paper` for Shahmukhi, `test_reviewed` for Pashto): the `{org}/pakner` rows, unchanged.

Columns: those of `{org}/pakner`, plus `orig_id` (the sentence a row was made from), `mode`
(`original`, `cluster`, `random`), `replacements` (old and new words, word index, cluster id,
source language) and `rank_score` (empty on original rows).

## How it was made
- Seed {cluster['seed']}; sources (who feeds whom): `{json.dumps(cluster.get('sources', {}))}`.
- Ranking model: `{summary.get('ranking_model')}`.
- Bank, clusters, alignment and counts: `{json.dumps({k: cluster.get(k) for k in ('bank', 'aligned_links', 'candidates', 'kept', 'mean_score')}, ensure_ascii=False)}`.

| language/type | K | distinct forms | silhouette |
|---|---|---|---|
{clusters}

## Statistics (entities counted by their B- tags)
{dataset_repo.stats_table(configs)}

## Cite
T. Ehsan and T. Solorio. 2025. Enhancing NER Performance in Low-Resource Pakistani Languages using
Cross-Lingual Data Augmentation. W-NUT 2025. arXiv:2504.08792. And the corpora cited in `{org}/pakner`.
"""


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "build-aug", help="build the ORG/pakner-aug dataset repo folder (pakner + ranked augmented rows)",
        description="Augment the train splits of a built ORG/pakner folder (or Hub id) with the paper's "
                    "cluster-based cross-lingual method, rank the candidates with a NER model, and write a folder "
                    "laid out as the Hub dataset repo ORG/pakner-aug: train (x1), train_x2, train_all_correct, "
                    "train_random, and the untouched validation/test splits, with provenance columns.")
    p.add_argument("--pakner", required=True, help="the ORG/pakner folder (hubkit build --out ...) or Hub id")
    p.add_argument("--out", type=Path, required=True, help="output folder (the dataset repo)")
    p.add_argument("--model", default=None,
                   help="fine-tuned token-classification model (folder or Hub id) that ranks the candidates; "
                        "without one only the unranked first candidate per sentence is kept (x1)")
    p.add_argument("--languages", nargs="+", choices=list(LANGUAGES), default=list(LANGUAGES))
    p.add_argument("--feeders", nargs="*", choices=list(LANGUAGES), default=None,
                   help="languages that only feed entities (no config of their own), e.g. --languages pashto "
                        "--feeders urdu")
    p.add_argument("--n-candidates", type=ranged(COUNT), default=5, help="candidates per sentence with an entity")
    p.add_argument("--k", type=ranged(Range(2, integer=True)), default=None, help="clusters per language and type (default: by silhouette)")
    p.add_argument("--align-threshold", type=ranged(COSINE), default=0.5, help="min centroid cosine to align clusters")
    p.add_argument("--seed", type=ranged(NON_NEGATIVE_INT), default=0)
    p.add_argument("--no-random", action="store_true", help="skip the `random` ablation split")
    p.add_argument("--cache-dir", default=None, help="where trained FastText vectors are cached")
    p.add_argument("--report-dir", default=None, help="cluster report: markdown, CSV for native speakers, plots")
    p.add_argument("--batch-size", type=ranged(COUNT), default=64)
    p.add_argument("--org", default="ORG", help="Hub organisation named in the card")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    summary = build_pakner_aug(args.pakner, args.out, model=args.model, languages=args.languages,
                               n_candidates=args.n_candidates, seed=args.seed, k=args.k,
                               align_threshold=args.align_threshold, with_random=not args.no_random,
                               feeders=args.feeders,
                               cache_dir=args.cache_dir, report_dir=args.report_dir, batch_size=args.batch_size,
                               org=args.org)
    print(f"wrote {args.out} in {summary['seconds']:.0f}s")
    for lang, splits in summary["kept"].items():
        print(f"  {lang:10s} " + "  ".join(f"{s}=+{n:,}" for s, n in splits.items()))
    return 0
