"""The datasets a grid derives from `pakner` and `pakner-aug`, each a dataset folder laid out like a Hub repo.

Settings and the data they train on: `original` (ORG/pakner, or its fixed training subset),
`copies-x2` (cluster-x2's training set with every augmented sentence put back to the sentence it
came from), `random`, `cluster-x1`, `cluster-x2`, `cluster-all-correct` (pakner-aug policies),
`reference` (the training set the paper's authors released, where there is one). Each builder
returns at once when its folder is already there; the runner decides when a folder is stale.
"""

from __future__ import annotations

from pathlib import Path

# The authors' released augmented training sets (../shared/data/reference-augmented): they hold
# the original split plus their augmented copies. 0-token rows (their "noise" copies of
# entity-only sentences) are dropped.
REFERENCE_SETS = {
    "pashto": "reference-augmented/pashto-cluster-cross/train_aug_x1.arrow",
    "shahmukhi": "reference-augmented/shahmukhi-cross/train_no_empty_aug_x1.arrow",
    "urdu": "reference-augmented/urdu-cross-rand/train_aug_x1.arrow",
}
# The pakner-aug training policy (`hubkit train --policy`) each setting trains with.
POLICY = {"original": None, "copies-x2": None, "random": "random", "cluster-x1": None, "cluster-x2": "x2",
          "cluster-all-correct": "all-correct", "reference": None}
# Settings trained on pakner-aug (or on a set made from it): they need the ranker and the augmented data.
AUGMENTED = {setting for setting in POLICY if setting not in ("original", "reference")}


def prepare_reference(data_dir: Path, pakner: Path, out: Path, languages) -> Path:
    """A dataset folder whose `train` is the authors' set and validation/test are pakner's."""
    import datasets

    from hubkit.data.corpora import features
    from hubkit.data.readers import ReadReport, read_arrow
    from hubkit.data.labels import tags_to_ids

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        if lang not in REFERENCE_SETS:
            continue
        report = ReadReport()
        path = data_dir / REFERENCE_SETS[lang]
        rows = list(read_arrow(path, report, strict=False))  # 0-token rows are skipped and counted
        train = datasets.Dataset.from_dict({
            "id": [f"reference/{lang}/{s.id}" for s in rows], "tokens": [s.tokens for s in rows],
            "ner_tags": [tags_to_ids(s.tags) for s in rows], "lang": [lang] * len(rows),
            "source": [f"reference:{REFERENCE_SETS[lang]}"] * len(rows)}, features=features())
        base = datasets.load_dataset(str(pakner), lang)
        configs[lang] = {"train": train, **{s: ds for s, ds in base.items() if s != "train"}}
        print(f"reference {lang}: {len(rows)} rows kept, {len(report.skipped)} skipped (0-token or malformed)")
    return write_folder(out, configs, "# Reference augmented training sets of Ehsan & Solorio (2025)\n\n"
                                      "For comparison only.")


def write_folder(out: Path, configs: dict, card_body: str) -> Path:
    """Write {config: {split: Dataset}} as a dataset folder laid out like a Hub repo; returns `out`."""
    from hubkit.data import dataset_repo

    for name, splits in configs.items():
        dataset_repo.write_config(out, name, splits)
    dataset_repo.write_card(out, dataset_repo.card_yaml(configs, {"license": "other"}), card_body)
    return out


def subset_pakner(pakner: Path, out: Path, sizes: dict, languages, seed: int = 0) -> Path:
    """A copy of `pakner` whose train splits hold a fixed subset (seeded sample, upstream order kept).

    Every setting of a budgeted grid starts from the same original sentences: the augmented
    data is made from this subset, so `original` and `cluster-x1` differ only by augmentation.
    """
    import random

    import datasets

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        dd = datasets.load_dataset(str(pakner), lang)
        n = sizes.get(lang)
        train = dd["train"]
        if n is not None and n < len(train):
            train = train.select(sorted(random.Random(seed).sample(range(len(train)), n)))
        configs[lang] = {"train": train, **{s: ds for s, ds in dd.items() if s != "train"}}
    return write_folder(out, configs, f"# pakner, training subsets {sizes} (seed {seed})")


def copies_of(aug: Path, out: Path, languages) -> Path:
    """`pakner-aug` with `train` = its `train_x2` where each augmented row is replaced by its source sentence.

    Same size, entity-sentence mix and optimizer steps as cluster-x2, nothing new to learn from:
    what augmentation adds beyond training longer on the same sentences shows against it.
    """
    import datasets

    from hubkit.augment.build_aug import POLICY_SPLITS

    if (out / "README.md").is_file():
        return out
    configs = {}
    for lang in languages:
        dd = datasets.load_dataset(str(aug), lang)
        x2 = dd[POLICY_SPLITS["x2"]]
        row_of = {i: n for n, i in enumerate(x2["id"])}
        missing = sorted(set(x2["orig_id"]) - set(row_of))
        if missing:  # every source sentence is in the split, as an original row
            raise ValueError(f"{aug}/{lang}: augmented rows whose source sentence is not in train_x2: {missing[:3]}")
        train = x2.select([row_of[o] for o in x2["orig_id"]])
        configs[lang] = {"train": train, **{s: ds for s, ds in dd.items() if s == "validation" or s.startswith("test")}}
    return write_folder(out, configs, "# pakner-aug train_x2 with augmented rows put back to their source sentences")


def reference_size(aug: Path | None, lang: str) -> int | None:
    """Rows of our `cluster-x1` training set, so a budgeted reference run trains on as many."""
    if aug is None or not (aug / lang).is_dir():
        return None
    import datasets

    return len(datasets.load_dataset(str(aug), lang, split="train"))
