import pytest

from hubkit.data.labels import LABELS, TagStats, UnknownTagError, entity_spans, to_bio


def test_scheme_is_wikiann_order():
    assert LABELS == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def test_bare_types_become_bio_and_outside_types_become_o():
    stats = TagStats()
    tags = to_bio(["PERSON", "PERSON", "O", "DATE", "LOCATION", "ORGANIZATION", "NUMBER"], stats, scheme="io")
    assert tags == ["B-PER", "I-PER", "O", "O", "B-LOC", "B-ORG", "O"]
    assert stats.dropped_types == {"DATE": 1, "NUMBER": 1}
    assert stats.io_converted == 4


def test_orphan_i_is_repaired_and_counted():
    stats = TagStats()
    assert to_bio(["O", "I-PER", "I-PER", "B-LOC", "I-ORG"], stats) == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG"]
    assert stats.orphan_i_repaired == 2


def test_io_short_types():
    assert to_bio(["PER", "PER", "LOC", "O", "ORG"]) == ["B-PER", "I-PER", "B-LOC", "O", "B-ORG"]


@pytest.mark.parametrize("bad", ["B-MISC", "PERS", "X", "B-", "b-PER"])
def test_unknown_tag_raises(bad):
    with pytest.raises(UnknownTagError, match="unknown tag"):
        to_bio(["O", bad])


def test_prefixed_tag_in_io_file_is_an_error():
    with pytest.raises(UnknownTagError):
        to_bio(["PERSON", "B-PER"], scheme="io")


def test_entity_spans():
    assert entity_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6)]
