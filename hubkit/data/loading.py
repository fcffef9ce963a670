"""Datasets -> word-level NER data for training and evaluation.

`load_ner_data`: one `datasets` config per language (`urdu`, `shahmukhi`, `sindhi`, `pashto`) of a
Hub dataset or a local folder laid out as the repo, checked before any training; `concat` joins
the languages of one split.
"""

from __future__ import annotations

import logging
from typing import Iterable

from hubkit.data.labels import LABEL2ID, LABELS
from hubkit.errors import DataError
from hubkit.languages import CODE_TO_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)
LANG_COLUMN = "hubkit_lang"  # the config a sentence was loaded from (what per-language scores use)
REQUIRED_COLUMNS = ("tokens", "ner_tags")


def normalize_languages(languages: Iterable[str]) -> list[str]:
    """`all`, config names or ISO codes (`ps`, `pnb`) -> config names, in the given order."""
    out: list[str] = []
    for lang in languages:
        for part in str(lang).split(","):
            part = part.strip().lower()
            if not part:
                continue
            names = list(LANGUAGES) if part == "all" else [CODE_TO_LANGUAGE.get(part, part)]
            for name in names:
                if name not in LANGUAGES:
                    raise DataError(f"unknown language {part!r}: use all, {', '.join(LANGUAGES)} "
                                    f"or {', '.join(CODE_TO_LANGUAGE)}")
                if name not in out:
                    out.append(name)
    if not out:
        raise DataError("no language given")
    return out


def config_names(dataset: str) -> list[str]:
    import datasets

    try:
        return list(datasets.get_dataset_config_names(dataset))
    except Exception as err:  # noqa: BLE001 - any failure here is reported as "cannot read"
        raise DataError(f"cannot read dataset {dataset!r}: {err}") from err


def load_config(dataset: str, config: str):
    import datasets

    try:
        return datasets.load_dataset(dataset, config)
    except ValueError as err:
        if "corresponds to no data" in str(err):  # how `datasets` reports a split with no rows
            raise DataError(f"dataset {dataset!r} config {config!r}: the split is empty ({err})") from err
        raise DataError(f"dataset {dataset!r} config {config!r}: cannot load ({err})") from err


def _train_split_for_policy(splits: list[str], policy: str | None) -> str | None:
    if not policy:
        return "train"
    # split names cannot hold "-": `--policy all-correct` is the split `train_all_correct`
    for name in (f"train_{policy}", f"train_{policy.replace('-', '_')}", f"train-{policy}", policy):
        if name in splits:
            return name
    return None


def load_ner_data(dataset: str, languages: Iterable[str], policy: str | None = None,
                  splits: Iterable[str] = ("train", "validation", "test")) -> dict[str, dict]:
    """{split: {language: Dataset}} with a `hubkit_lang` column, every split checked.

    `policy` (augmented datasets) picks the training data: a config `<lang>-<policy>` or
    `<lang>_<policy>` if the dataset has one, else a split `train_<policy>`, `train-<policy>` or
    `<policy>` inside the language config. Evaluation splits always come from the language config.
    """
    if not dataset:
        raise DataError("no dataset given (--dataset ORG/pakner or a folder laid out like it)")
    configs = config_names(dataset)
    splits = list(splits)
    out: dict[str, dict] = {split: {} for split in splits}
    for lang in normalize_languages(languages):
        if lang not in configs:
            raise DataError(f"dataset {dataset!r} has no config {lang!r} (configs: {', '.join(configs)})")
        dd = load_config(dataset, lang)
        train_dd, train_split = dd, "train"
        if "train" in splits and policy:
            policy_cfg = next((c for c in (f"{lang}-{policy}", f"{lang}_{policy}") if c in configs), None)
            if policy_cfg:
                train_dd = load_config(dataset, policy_cfg)
            train_split = _train_split_for_policy(list(train_dd), policy) if not policy_cfg else "train"
            if train_split is None or train_split not in train_dd:
                raise DataError(f"dataset {dataset!r}: no training data for policy {policy!r} in language {lang!r} "
                                f"(looked for configs {lang}-{policy}/{lang}_{policy}, splits train_{policy}/"
                                f"train-{policy}/{policy}; splits here: {', '.join(dd)})")
        for split in splits:
            source, name = (train_dd, train_split) if split == "train" else (dd, split)
            if name not in source:
                raise DataError(f"dataset {dataset!r} config {lang!r}: no split {name!r} (has {', '.join(source)})")
            ds = check_split(source[name], f"{dataset} [{lang}/{name}]")
            if LANG_COLUMN in ds.column_names:
                ds = ds.remove_columns(LANG_COLUMN)
            out[split][lang] = ds.add_column(LANG_COLUMN, [lang] * len(ds))
    return out


def add_further_training(train: dict, dataset: str, further: Iterable[str], held_out: Iterable[dict]) -> dict:
    """`train` ({language: Dataset}) with each further config's train split joined to the language
    named in its `lang` column; a sentence that is also in a `held_out` split is left out and named
    in the log, so that no validation or test sentence is trained on."""
    further = list(further)
    if not further:
        return train
    configs = config_names(dataset)
    seen = {tuple(tokens) for parts in held_out for ds in parts.values() for tokens in ds["tokens"]}
    out = dict(train)
    for name in further:
        ds = _further_split(dataset, name, configs, set(train))
        lang = CODE_TO_LANGUAGE.get(ds["lang"][0], ds["lang"][0])
        clash = [i for i, tokens in enumerate(ds["tokens"]) if tuple(tokens) in seen]
        if clash:
            ids = ds["id"] if "id" in ds.column_names else list(map(str, clash))
            logger.warning("%s: %d training sentence(s) also in a validation or test split, left out: %s%s",
                           name, len(clash), ", ".join(str(ids[i]) for i in clash[:10]),
                           ", ..." if len(clash) > 10 else "")
            ds = ds.select(sorted(set(range(len(ds))) - set(clash)))
        logger.info("further training data: %s adds %d %s sentences", name, len(ds), lang)
        ds = ds.add_column(LANG_COLUMN, [lang] * len(ds))
        out[lang] = concat({lang: out[lang], name: ds})
    return out


def _further_split(dataset: str, name: str, configs: list[str], trained: set[str]):
    """The checked train split of further config `name`, whose sentences are all of one trained language."""
    where = f"--further_train_configs {name}"
    if name in LANGUAGES:
        raise DataError(f"{where}: {name!r} is a language config, trained through --languages")
    if name not in configs:
        raise DataError(f"{where}: dataset {dataset!r} has no such config (configs: {', '.join(configs)})")
    dd = load_config(dataset, name)
    if "train" not in dd:
        raise DataError(f"{where}: dataset {dataset!r} config {name!r} has no train split (has {', '.join(dd)})")
    ds = check_split(dd["train"], f"{dataset} [{name}/train]")
    langs = {CODE_TO_LANGUAGE.get(code, code) for code in ds["lang"]} if "lang" in ds.column_names else set()
    if len(langs) != 1 or not langs <= trained:
        raise DataError(f"{where}: its sentences are in {', '.join(sorted(langs)) or 'no named language'}; "
                        f"it can join only one language trained here ({', '.join(sorted(trained))})")
    return ds.remove_columns(LANG_COLUMN) if LANG_COLUMN in ds.column_names else ds


def check_split(ds, where: str):
    """Raise DataError unless `ds` has tokens/ner_tags with hubkit label ids; returns ds (ids as ints)."""
    import datasets

    missing = [c for c in REQUIRED_COLUMNS if c not in ds.column_names]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)} (columns: {', '.join(ds.column_names)})")
    if len(ds) == 0:
        raise DataError(f"{where}: the split is empty")
    feature = ds.features["ner_tags"]
    inner = getattr(feature, "feature", None)
    if isinstance(inner, datasets.ClassLabel) and list(inner.names) != LABELS:
        raise DataError(f"{where}: ner_tags labels {inner.names} are not the model's label set {LABELS}")
    as_strings = isinstance(inner, datasets.Value) and inner.dtype == "string"
    ids = ds["id"] if "id" in ds.column_names else None
    for row, (tokens, tags) in enumerate(zip(ds["tokens"], ds["ner_tags"])):
        name = f"row {row}" + (f" (id {ids[row]})" if ids is not None else "")
        if len(tokens) != len(tags):
            raise DataError(f"{where}: {name}: {len(tokens)} tokens but {len(tags)} tags")
        if as_strings:
            bad = [t for t in tags if t not in LABEL2ID]
        else:
            bad = [t for t in tags if not isinstance(t, int) or not 0 <= t < len(LABELS)]
        if bad:
            raise DataError(f"{where}: {name}: label(s) {bad[:5]} outside the model's label set {LABELS}")
    if as_strings:
        ds = ds.map(lambda ex: {"ner_tags": [LABEL2ID[t] for t in ex["ner_tags"]]},
                    features=ds.features.copy() | {"ner_tags": datasets.Sequence(datasets.ClassLabel(names=LABELS))})
    return ds


def concat(parts: dict) -> "datasets.Dataset":
    """Languages of one split in one Dataset (only the columns the trainer uses)."""
    import datasets

    keep = ["tokens", "ner_tags", LANG_COLUMN]
    selected = [ds.select_columns(keep) for ds in parts.values()]
    features = selected[0].features  # e.g. ClassLabel in one language, plain ints in another
    return datasets.concatenate_datasets([ds if ds.features == features else ds.cast(features) for ds in selected])
