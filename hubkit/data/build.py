"""Build the `ORG/pakner` dataset repo folder from the upstream corpora.

Configs: one per language (`urdu`, `shahmukhi`, `sindhi`, `pashto`: the splits of Ehsan &
Solorio 2025), `all` (the four together, with the `lang` column telling them apart), and one per
additional corpus (`urdu-mk-pucit`, `urdu-uner`, `urdu-ijcnlp2008`, `urdu-jahangir`,
`shahmukhi-ner`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from hubkit.data import corpora
from hubkit.data import dataset_repo
from hubkit.data.labels import LABELS
from hubkit.languages import LANGUAGES
from hubkit.data.readers import ReadReport

EXTRA_CONFIGS = ["urdu-mk-pucit", "urdu-uner", "urdu-ijcnlp2008", "urdu-jahangir", "shahmukhi-ner"]
ALL_CORPORA = list(corpora.PRIMARY.values()) + EXTRA_CONFIGS


def build_configs(data_dir: Path | None, strict: bool = True, corpus_names: list[str] | None = None,
                  progress: bool = True, allow_modified: bool = False, own: list[corpora.Corpus] = ()
                  ) -> tuple[dict[str, dict], dict[str, corpora.CorpusSplits]]:
    """Read the corpora -> ({config: {split: Dataset}}, {corpus: CorpusSplits}). `own`: corpora of
    one's own (hubkit.data.corpus_file), each its own config; `corpus_names` may name them too."""
    import datasets

    own_by_name = {c.name: c for c in own}
    names = corpus_names or ALL_CORPORA + list(own_by_name)
    loaded: dict[str, corpora.CorpusSplits] = {}
    for name in tqdm(names, desc="reading corpora", unit="corpus", disable=not progress):
        loaded[name] = corpora.load_corpus(own_by_name.get(name, name), data_dir, strict, allow_modified)
    configs: dict[str, dict] = {}
    for lang, name in corpora.PRIMARY.items():
        if name in loaded:
            c = loaded[name]
            configs[lang] = {s: corpora.to_dataset(v, lang, name) for s, v in c.splits.items()}
    if all(lang in configs for lang in corpora.PRIMARY):
        configs["all"] = {split: datasets.concatenate_datasets([configs[lang][split] for lang in corpora.PRIMARY])
                          for split in corpora.SPLITS}
    for name in EXTRA_CONFIGS + list(own_by_name):
        if name in loaded:
            c = loaded[name]
            configs[name] = {s: corpora.to_dataset(v, c.corpus.lang, name) for s, v in c.splits.items()}
    return configs, loaded


def _file_line(split: str, f: corpora.UpstreamFile, modified_sha: str | None) -> str:
    if not f.repo:
        return f"  - `{split}`: the builder's own file `{f.path}`, sha256 `{f.sha256}`"
    line = (f"  - `{split}`: [{f.repo}@{f.commit[:7]}](https://github.com/{f.repo}/blob/{f.commit}/{f.path}) "
            f"`{f.path}`{f' (member `{f.member}`)' if f.member else ''}, sha256 `{f.sha256}`")
    if modified_sha:
        line += f"\n    - **modified locally** (`--allow-modified`): built from a copy with sha256 `{modified_sha}`"
    return line


def _source_section(name: str, c: corpora.CorpusSplits) -> str:
    """The card's section on one corpus: files, license, how its splits were made, repairs, citation."""
    corpus = c.corpus
    files = "\n".join(_file_line(split, f, c.modified.get(split)) for split, f in corpus.files.items())
    carved = ", ".join(f"{new} = {frac:.0%} of upstream `{src}`" for new, (src, frac) in corpus.carve.items())
    return (f"### `{name}` ({corpus.lang}): {corpus.title}\n"
            f"- Files:\n{files}\n"
            f"- License as stated upstream: {corpus.license}\n"
            f"- Splits: " + (f"carved with seed {corpora.CARVE_SEED}: {carved}" if carved else "as upstream")
            + (f"; renamed {corpus.rename}" if corpus.rename else "")
            + "".join(f"; `{new}` = the rows of upstream `{pool}` that `{used}` does not hold"
                      for new, (pool, used) in corpus.held_out.items()) + "\n"
            f"- Tag mapping and repairs: `{json.dumps(c.report.as_dict(), ensure_ascii=False)}`\n"
            + (f"- Note: {corpus.note}\n" if corpus.note else "")
            + f"- Cite: {corpus.citation}\n")


def card_body(configs: dict[str, dict], loaded: dict[str, corpora.CorpusSplits], org: str) -> str:
    sources = [_source_section(name, c) for name, c in loaded.items()]
    example = next(iter(configs))
    return f"""# pakner: named-entity recognition for Urdu, Shahmukhi, Sindhi and Pashto

Real NER corpora of four Pakistani languages in one scheme: BIO over PER, LOC and ORG, with the
tag ids of WikiANN (`{', '.join(f'{i}={t}' for i, t in enumerate(LABELS))}`).
Built with `hubkit build` (the hubkit toolkit).

```python
from datasets import load_dataset
ds = load_dataset("{org}/pakner", "{example}")
```

## Configs
- `urdu`, `shahmukhi`, `sindhi`, `pashto`: the splits used by Ehsan & Solorio (2025), but for
  Shahmukhi's validation: every sentence of the paper's validation split is also in its train
  split, so that split is kept as `validation_paper`, and `validation` holds the rows of the
  upstream train file that the paper's train split left out. `pashto` also has `test_reviewed`,
  the authors' corrected test set.
- `all`: the four language configs together; `lang` tells them apart.
- {', '.join(f'`{n}`' for n in EXTRA_CONFIGS)}: further corpora, each on its own (other
  annotation guidelines and tokenisation than the language configs; not mixed into them), but for
  `shahmukhi-ner`: the upstream corpus the `shahmukhi` splits come from, with hubkit's own carve of
  its train file (so its validation overlaps the `shahmukhi` train split).

Columns: `id` (stable: `corpus/upstream-split/row` or `corpus/upstream-split/L<line>`), `tokens`,
`ner_tags`, `lang` (urdu, shahmukhi, sindhi, pashto), `source` (the corpus).

## Statistics (entities counted by their B- tags)
"also in train": sentences whose exact tokens are those of a sentence in the config's train split
(WikiANN repeats titles across its splits).

{dataset_repo.stats_table(configs)}

## Choices made
- Tokens are the upstream bytes: no character is normalised (ZWNJ, bidi marks and letter
  variants are kept as written). Removed: a byte-order mark at the start of a file, CR of CRLF.
- Tags: PERSON/LOCATION/ORGANIZATION map to PER/LOC/ORG; DATE, TIME, NUMBER and DESIGNATION
  map to O (counted per corpus below). IO files (bare types) get B- on the first word of a run,
  so adjacent same-type entities merge there, as upstream intends. An I- that does not
  continue an entity of its type becomes B- (counted as `orphan_i_repaired`).
- UNER's inline markup: a tag glued to a word is a token boundary; `/<TYPE>` written for a closing
  tag closes; a closing tag with no opening is ignored (its words stay O); U+FEFF inside a line
  is a token boundary. Each repair is counted below.
- Missing splits are carved with a fixed seed ({corpora.CARVE_SEED}); an upstream test split is
  never touched. Sindhi (SiNER) and MK-PUCIT are partial releases: their train/validation come
  from the upstream validation file, their test is the upstream `test_1k` subset.

## Sources
{chr(10).join(sources)}
"""


def build_pakner(data_dir: Path | None, out: Path, org: str = "ORG", strict: bool = True,
                 corpus_names: list[str] | None = None, progress: bool = True, allow_modified: bool = False,
                 own: list[corpora.Corpus] = ()) -> dict:
    """Write the `ORG/pakner` repo folder; return a summary (counts and repairs per corpus)."""
    configs, loaded = build_configs(data_dir, strict, corpus_names, progress, allow_modified, own)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, splits in tqdm(configs.items(), desc="writing parquet", unit="config", disable=not progress):
        dataset_repo.write_config(out, name, splits)
    licenses = sorted({c.corpus.license for c in loaded.values()})
    meta = {
        "pretty_name": "pakner: NER for Urdu, Shahmukhi, Sindhi and Pashto",
        "language": sorted({LANGUAGES[c.corpus.lang] for c in loaded.values()}),
        "license": "other",
        "license_name": "mixed-upstream",
        "license_details": " | ".join(licenses),
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "multilinguality": "multilingual",
        "source_datasets": ["original"],
        "tags": ["ner", "urdu", "punjabi", "shahmukhi", "sindhi", "pashto", "low-resource"],
    }
    default = "all" if "all" in configs else next(iter(configs))
    dataset_repo.write_card(out, dataset_repo.card_yaml(configs, meta, default), card_body(configs, loaded, org))
    report = ReadReport()
    for c in loaded.values():
        report.update(c.report)
    return {
        "configs": {name: {s: len(ds) for s, ds in splits.items()} for name, splits in configs.items()},
        "repairs": {name: c.report.as_dict() for name, c in loaded.items()},
        "skipped": report.skipped,
        "modified": {name: c.modified for name, c in loaded.items() if c.modified},
    }


def print_summary(summary: dict, out: Path, seconds: float, file=None) -> None:
    file = file or sys.stdout  # looked up now: a default bound at import misses a redirected stdout
    print(f"wrote {out} in {seconds:.1f}s", file=file)
    for name, splits in summary["configs"].items():
        print(f"  {name:16s} " + "  ".join(f"{s}={n:,}" for s, n in splits.items()), file=file)
    for name, rep in summary["repairs"].items():
        changes = {k: v for k, v in rep.items() if v}
        if changes:
            print(f"  {name}: {json.dumps(changes, ensure_ascii=False)}", file=file)
    for line in summary["skipped"]:
        print(f"  skipped: {line}", file=file)
    for name, files in summary.get("modified", {}).items():
        print(f"  {name}: built from modified local copies of {', '.join(files)} (recorded in the card)", file=file)


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "build", help="build the ORG/pakner dataset repo folder from the upstream corpora",
        description="Read every registered corpus (from --data-dir, or downloaded from the pinned upstream "
                    "commits), map the tags onto BIO over PER/LOC/ORG, and write a folder laid out as the Hub "
                    "dataset repo: README.md card with YAML configs, <config>/<split>-*.parquet. "
                    "Load it with datasets.load_dataset(OUT, 'shahmukhi').")
    p.add_argument("--data-dir", type=Path, default=corpora.default_data_dir(),
                   help="folder holding the corpora, laid out as ../shared/data (default: $PAKNER_DATA_DIR; "
                        "without either, the files are downloaded and checked against their sha256)")
    p.add_argument("--out", type=Path, required=True, help="output folder (the dataset repo)")
    p.add_argument("--org", default="ORG", help="Hub organisation named in the card's usage snippet")
    p.add_argument("--corpora", nargs="+", metavar="NAME",
                   help=f"build only these corpora: {', '.join(ALL_CORPORA)}, or names from --corpus-file")
    p.add_argument("--corpus-file", action="append", type=Path, default=[], metavar="YAML",
                   help="add a corpus of your own: a YAML file naming its files, format, language and license "
                        "(see hubkit/data/corpus_file.py); it becomes a config of its own. Repeatable")
    p.add_argument("--allow-modified", action="store_true",
                   help="build from local copies whose sha256 differs from the pinned upstream (corrected "
                        "files); the card records each changed file and its sha256")
    p.add_argument("--lenient", action="store_true",
                   help="skip malformed sentences (each counted and listed) instead of stopping at the first")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    from hubkit.data.corpus_file import load_corpus_spec

    start = time.perf_counter()
    own = [load_corpus_spec(spec) for spec in args.corpus_file]
    known = ALL_CORPORA + [c.name for c in own]
    unknown = [n for n in args.corpora or [] if n not in known]
    if unknown:
        raise ValueError(f"--corpora: unknown corpus {', '.join(unknown)} (known: {', '.join(known)})")
    summary = build_pakner(args.data_dir, args.out, args.org, strict=not args.lenient, corpus_names=args.corpora,
                           allow_modified=args.allow_modified, own=own)
    print_summary(summary, args.out, time.perf_counter() - start)
    return 0
