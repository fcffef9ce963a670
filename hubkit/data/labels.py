"""The unified tag scheme (WikiANN order) and the mapping from every upstream tag set.

Upstream corpora use BIO (`B-PER`), IO (`PER`), bare long types (`PERSON`) and types outside
the scheme (`DATE`, `NUMBER`, ...). Everything is mapped to BIO over PER/LOC/ORG; what was
mapped or repaired is counted in a `TagStats`, so the builder can report it and never change
data silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hubkit.errors import DataError

LABELS: list[str] = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC")

# Upstream type names -> scheme type, or None for types outside the scheme (mapped to O).
TYPE_ALIASES: dict[str, str | None] = {
    "PER": "PER", "PERSON": "PER",
    "LOC": "LOC", "LOCATION": "LOC",
    "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG",
    "DATE": None, "TIME": None, "NUMBER": None, "DESIGNATION": None,
}


class UnknownTagError(DataError):
    """A tag that is neither in the scheme nor a known upstream type."""


@dataclass
class TagStats:
    """What the mapping did, for the build summary and the dataset card."""

    dropped_types: Counter = field(default_factory=Counter)  # e.g. DATE -> O, counted per token
    io_converted: int = 0  # IO/bare-type tokens given a B-/I- prefix
    orphan_i_repaired: int = 0  # I-X with no B-X/I-X before it, turned into B-X

    def update(self, other: "TagStats") -> None:
        self.dropped_types.update(other.dropped_types)
        self.io_converted += other.io_converted
        self.orphan_i_repaired += other.orphan_i_repaired

    def as_dict(self) -> dict:
        return {
            "dropped_types": dict(sorted(self.dropped_types.items())),
            "io_converted": self.io_converted,
            "orphan_i_repaired": self.orphan_i_repaired,
        }


def split_tag(tag: str) -> tuple[str, str | None]:
    """`B-PER` -> ("B", "PER"); `O` -> ("O", None); `PERSON` -> ("", "PERSON")."""
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return tag[0], tag[2:]
    return "", tag


def to_bio(raw_tags: list[str], stats: TagStats | None = None, scheme: str = "auto") -> list[str]:
    """Map one sentence's upstream tags onto the unified BIO scheme.

    `scheme="io"` (bare types, no prefixes): a run of the same type is one entity; adjacent
    entities of the same type cannot be told apart in IO and merge, as upstream intends.
    With prefixes, an I-X that does not continue an X entity becomes B-X (counted).
    Raises UnknownTagError on a tag that is not known.
    """
    stats = stats if stats is not None else TagStats()
    out: list[str] = []
    prev_type: str | None = None
    for tag in raw_tags:
        prefix, raw_type = split_tag(tag.strip())
        if prefix == "O":
            out.append("O")
            prev_type = None
            continue
        if raw_type not in TYPE_ALIASES or (prefix and scheme == "io"):
            raise UnknownTagError(f"unknown tag {tag!r}")
        etype = TYPE_ALIASES[raw_type]
        if etype is None:
            stats.dropped_types[raw_type] += 1
            out.append("O")
            prev_type = None
            continue
        if prefix == "":  # IO / bare type
            stats.io_converted += 1
            prefix = "I" if prev_type == etype else "B"
        elif prefix == "I" and prev_type != etype:
            stats.orphan_i_repaired += 1
            prefix = "B"
        out.append(f"{prefix}-{etype}")
        prev_type = etype
    return out


def ids_to_tags(ids: list[int]) -> list[str]:
    try:
        return [LABELS[i] for i in ids]
    except (IndexError, TypeError) as err:
        raise UnknownTagError(f"tag id outside 0..{len(LABELS) - 1}: {ids}") from err


def tags_to_ids(tags: list[str]) -> list[int]:
    return [LABEL2ID[t] for t in tags]


def entity_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) word spans, end exclusive, of a well-formed BIO sequence."""
    spans: list[tuple[str, int, int]] = []
    for i, tag in enumerate(tags):
        prefix, etype = split_tag(tag)
        if prefix == "B" or (prefix == "I" and (not spans or spans[-1][0] != etype or spans[-1][2] != i)):
            spans.append((etype, i, i + 1))
        elif prefix == "I":
            spans[-1] = (etype, spans[-1][1], i + 1)
    return spans
