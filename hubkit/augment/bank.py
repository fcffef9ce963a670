"""The entity bank: every entity mention of the TRAINING splits, per language and type.

A bank entry is one surface form (a tuple of tokens) of one type in one language, with how often
it occurs and the ids of the sentences it occurs in. Only training sentences may feed it: a name
seen in validation or test must never be inserted into training data (that would leak the
evaluation entities), so `build_bank` refuses a split named anything but "train".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from hubkit.data.labels import ENTITY_TYPES, entity_spans, ids_to_tags


@dataclass
class Entry:
    surface: tuple[str, ...]
    freq: int = 0
    sentence_ids: list[str] = field(default_factory=list)


@dataclass
class Bank:
    # (lang, type) -> surface -> Entry; insertion order = first occurrence (deterministic)
    groups: dict[tuple[str, str], dict[tuple[str, ...], Entry]] = field(default_factory=dict)

    def entries(self, lang: str, etype: str) -> list[Entry]:
        return list(self.groups.get((lang, etype), {}).values())

    @property
    def languages(self) -> list[str]:
        return sorted({lang for lang, _ in self.groups})

    def summary(self) -> dict:
        """{lang: {type: {"forms": n_distinct, "mentions": n_total}}}."""
        out: dict = {}
        for (lang, etype), group in sorted(self.groups.items()):
            out.setdefault(lang, {})[etype] = {"forms": len(group), "mentions": sum(e.freq for e in group.values())}
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"lang": lang, "type": etype, "surface": list(e.surface), "freq": e.freq, "sentence_ids": e.sentence_ids}
                for (lang, etype), group in self.groups.items() for e in group.values()]
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Bank":
        bank = cls()
        for row in json.loads(Path(path).read_text(encoding="utf-8")):
            surface = tuple(row["surface"])
            bank.groups.setdefault((row["lang"], row["type"]), {})[surface] = Entry(surface, row["freq"], row["sentence_ids"])
        return bank


def train_split(ds, lang: str):
    """The training split of `ds`: a DatasetDict gives its "train"; a Dataset must not be another split."""
    import datasets

    if isinstance(ds, (datasets.DatasetDict, dict)):
        if "train" not in ds:
            raise ValueError(f"{lang}: no 'train' split in {list(ds)}; the bank is built from training data only")
        return ds["train"]
    split = getattr(ds, "split", None)
    if split is not None and str(split) != "train" and not str(split).startswith("train"):
        raise ValueError(f"{lang}: got the {split!r} split; the entity bank takes training splits only "
                         "(validation/test entities must never leak into training data)")
    return ds


def with_ids(ds, lang: str):
    """`ds` with an `id` column (`<lang>/train/<row>` where it has none)."""
    if "id" in ds.column_names:
        return ds
    return ds.add_column("id", [f"{lang}/train/{i}" for i in range(len(ds))])


def check_columns(ds, lang: str) -> None:
    missing = {"tokens", "ner_tags"} - set(ds.column_names)
    if missing:
        raise ValueError(f"{lang}: dataset lacks column(s) {sorted(missing)}; has {ds.column_names}")


def sentence_mentions(tokens: list[str], tags: list[int], where: str = "") -> list[tuple[str, int, int]]:
    """(type, start, end) of each entity of one sentence; ValueError naming the sentence on bad data."""
    if len(tokens) != len(tags):
        raise ValueError(f"{where}: {len(tokens)} tokens but {len(tags)} tags")
    try:
        return [s for s in entity_spans(ids_to_tags(list(tags))) if s[0] in ENTITY_TYPES]
    except Exception as err:  # UnknownTagError
        raise ValueError(f"{where}: {err}") from err


def build_bank(train_sets: Mapping[str, object]) -> Bank:
    """Bank of the training splits: `{lang: Dataset or DatasetDict}` (columns id?, tokens, ner_tags)."""
    bank = Bank()
    for lang, ds in train_sets.items():
        ds = train_split(ds, lang)
        check_columns(ds, lang)
        ids = ds["id"] if "id" in ds.column_names else [f"{lang}/train/{i}" for i in range(len(ds))]
        for sid, tokens, tags in zip(ids, ds["tokens"], ds["ner_tags"]):
            for etype, start, end in sentence_mentions(tokens, tags, f"{lang} sentence {sid}"):
                surface = tuple(tokens[start:end])
                if not all(t.strip() for t in surface):  # a blank token would give an empty insertion
                    continue
                group = bank.groups.setdefault((lang, etype), {})
                entry = group.get(surface)
                if entry is None:
                    entry = group[surface] = Entry(surface)
                entry.freq += 1
                if not entry.sentence_ids or entry.sentence_ids[-1] != sid:
                    entry.sentence_ids.append(sid)
    return bank
