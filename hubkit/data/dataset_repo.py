"""Write a folder laid out as a Hub dataset repo: parquet shards per config and split, and a card.

The layout is what `datasets.load_dataset(folder_or_repo_id, config)` reads: `README.md` whose
YAML `configs:` maps each config's splits to `<config>/<split>-*.parquet`, and `dataset_info:`
declares the features (ClassLabel names) and split sizes. Writing is deterministic (same rows ->
byte-identical files), so republishing an unchanged corpus changes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from hubkit.data.labels import ENTITY_TYPES, LABELS

MAX_SHARD_ROWS = 50_000


def shard_names(split: str, n_rows: int) -> list[str]:
    n = max(1, -(-n_rows // MAX_SHARD_ROWS))
    return [f"{split}-{i:05d}-of-{n:05d}.parquet" for i in range(n)]


def write_config(out_dir: Path, config: str, splits: dict) -> None:
    """Write one config's splits (`{split: datasets.Dataset}`) as parquet shards."""
    folder = Path(out_dir) / config
    if folder.exists():
        shutil.rmtree(folder)  # no stale shards from an earlier, larger build
    folder.mkdir(parents=True)
    import datasets

    datasets.disable_progress_bars()  # one bar per shard would drown the caller's own bar
    for split, dataset in splits.items():
        names = shard_names(split, len(dataset))
        for i, name in enumerate(names):
            shard = dataset.shard(num_shards=len(names), index=i, contiguous=True)
            shard.to_parquet(str(folder / name))


def split_stats(dataset) -> dict:
    """Sentences, tokens, entities per type and sentences with no entity, from BIO ids."""
    begin_ids = {LABELS.index(f"B-{t}"): t for t in ENTITY_TYPES}
    counts = {t: 0 for t in ENTITY_TYPES}
    tokens = no_entity = 0
    for tags in dataset["ner_tags"]:
        tokens += len(tags)
        found = False
        for tag in tags:
            if tag in begin_ids:
                counts[begin_ids[tag]] += 1
                found = True
        no_entity += not found
    return {"sentences": len(dataset), "tokens": tokens, **counts, "no_entity": no_entity}


def card_yaml(configs: dict[str, dict], meta: dict, default_config: str | None = None) -> dict:
    """The card's YAML: metadata, `configs` with data_files, and `dataset_info` with features."""
    config_entries, infos = [], []
    for name, splits in configs.items():
        entry = {"config_name": name, "data_files": [
            {"split": split, "path": f"{name}/{split}-*.parquet"} for split in splits]}
        if name == default_config:
            entry["default"] = True
        config_entries.append(entry)
        features = next(iter(splits.values())).features
        infos.append({
            "config_name": name,
            "features": features._to_yaml_list(),
            "splits": [{"name": split, "num_bytes": ds.data.nbytes, "num_examples": len(ds)}
                       for split, ds in splits.items()],
        })
    return {**meta, "configs": config_entries, "dataset_info": infos}


def write_card(out_dir: Path, yaml_data: dict, body: str) -> None:
    header = yaml.safe_dump(yaml_data, sort_keys=False, allow_unicode=True, width=1000)
    (Path(out_dir) / "README.md").write_text(f"---\n{header}---\n\n{body.strip()}\n", encoding="utf-8")


def stats_table(configs: dict[str, dict]) -> str:
    rows = ["| config | split | sentences | tokens | PER | LOC | ORG | no entity | also in train |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, splits in configs.items():
        in_train = {tuple(tokens) for tokens in splits["train"]["tokens"]} if "train" in splits else None
        for split, ds in splits.items():
            s = split_stats(ds)
            # sentences whose exact tokens are those of a training sentence
            seen = "-" if split == "train" or in_train is None else f"{sum(tuple(t) in in_train for t in ds['tokens']):,}"
            rows.append(f"| {name} | {split} | {s['sentences']:,} | {s['tokens']:,} | {s['PER']:,} | {s['LOC']:,} "
                        f"| {s['ORG']:,} | {s['no_entity']:,} | {seen} |")
    return "\n".join(rows)
