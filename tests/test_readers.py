"""Readers on small fixtures written here: each format, each documented repair, each bad input."""

import pyarrow as pa
import pytest

from hubkit.data.readers import ReaderError, ReadReport, read_arrow, read_columns, read_inline_markup

URDU = ["عمران", "خان", "لاہور", "گئے"]


def write_arrow(path, rows):
    table = pa.table({"tokens": [r[0] for r in rows], "ner_tags": [r[1] for r in rows]})
    with pa.ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table)
    return path


def test_arrow_rows_map_to_bio_with_ids(tmp_path):
    path = write_arrow(tmp_path / "train.arrow", [(URDU, [1, 2, 5, 0]), (["پشاور"], [6])])
    report = ReadReport()
    out = list(read_arrow(path, report))
    assert [s.id for s in out] == ["0", "1"]
    assert out[0].tags == ["B-PER", "I-PER", "B-LOC", "O"]
    assert out[1].tags == ["B-LOC"] and report.tags.orphan_i_repaired == 1


def test_arrow_tag_id_out_of_range_names_file_and_row(tmp_path):
    path = write_arrow(tmp_path / "bad.arrow", [(URDU, [0, 0, 0, 0]), (URDU, [0, 9, 0, 0])])
    with pytest.raises(ReaderError, match=r"bad\.arrow:2: unknown tag"):
        list(read_arrow(path))


def test_arrow_empty_sentence_is_an_error_or_counted(tmp_path):
    path = write_arrow(tmp_path / "e.arrow", [(URDU, [0, 0, 0, 0]), ([], [])])
    with pytest.raises(ReaderError, match=r"e\.arrow:2: empty sentence"):
        list(read_arrow(path))
    report = ReadReport()
    assert len(list(read_arrow(path, report, strict=False))) == 1
    assert len(report.skipped) == 1 and "empty sentence" in report.skipped[0]


def test_truncated_arrow_is_named(tmp_path):
    good = write_arrow(tmp_path / "g.arrow", [(URDU, [0, 0, 0, 0])] * 50)
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ReaderError, match=r"cut\.arrow: not a readable Arrow stream"):
        list(read_arrow(cut))


def test_conll3_with_blank_runs(tmp_path):
    path = tmp_path / "t.conll"
    path.write_text("عمران\tNNP\tB-PER\nخان\tNNP\tI-PER\n\n\n\nلاہور\tNNP\tI-LOC\n", encoding="utf-8")
    report = ReadReport()
    out = list(read_columns(path, 3, report))
    assert [s.tokens for s in out] == [["عمران", "خان"], ["لاہور"]]
    assert out[1].tags == ["B-LOC"] and report.tags.orphan_i_repaired == 1
    assert [s.id for s in out] == ["L1", "L6"]


def test_two_columns_with_bom_and_crlf(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "عمران\tPERSON\r\nخان\tPERSON\r\nکل\tDATE\r\n".encode())
    report = ReadReport()
    (sentence,) = read_columns(path, 2, report, scheme="io")
    assert sentence.tokens == ["عمران", "خان", "کل"]  # the BOM is not glued to the first token
    assert sentence.tags == ["B-PER", "I-PER", "O"]
    assert report.bom_removed == 1 and report.tags.dropped_types == {"DATE": 1}


def test_missing_tag_column_names_the_line(tmp_path):
    path = tmp_path / "t.conll"
    path.write_text("عمران\tNNP\tB-PER\nخان\tNNP\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"t\.conll:2: expected 3 tab-separated columns"):
        list(read_columns(path, 3))


def test_truncated_text_file_last_line_cut(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("عمران\tPERSON\n\nخان\tPERS", encoding="utf-8")  # cut in the middle of a tag
    with pytest.raises(ReaderError, match=r"t\.txt:3: unknown tag 'PERS'"):
        list(read_columns(path, 2, scheme="io"))


def test_unknown_tag_lenient_is_counted_not_silent(tmp_path):
    path = tmp_path / "t.conll"
    path.write_text("a\tX\tB-MISC\n\nعمران\tNNP\tB-PER\n", encoding="utf-8")
    report = ReadReport()
    out = list(read_columns(path, 3, report, strict=False))
    assert [s.tokens for s in out] == [["عمران"]]
    assert report.skipped == [f"{path}:1: unknown tag 'B-MISC'"]


def test_wrong_encoding_names_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("عمران\tPERSON\n\n".encode() + "caf\xe9\tO\n".encode("latin-1"))
    with pytest.raises(ReaderError, match=r"t\.txt:3: not valid UTF-8"):
        list(read_columns(path, 2))
    utf16 = tmp_path / "u.txt"
    utf16.write_bytes("عمران\tPERSON\n".encode("utf-16"))
    with pytest.raises(ReaderError, match="UTF-16"):
        list(read_columns(utf16, 2))


def write_uner(path, lines):
    path.write_bytes("\r\n".join(lines).encode("utf-16"))  # BOM + UTF-16 LE, CRLF as upstream
    return path


def test_inline_markup_repairs_are_counted(tmp_path):
    path = write_uner(tmp_path / "uner.txt", [
        "<PERSON>عمران خان</PERSON>نے <LOCATION>لاہور</LOCATION> میں <DATE>کل</DATE> کہا۔",
        "<NUMBER>25/<NUMBER> لوگ اور اسحاق</PERSON> گئے\ufeff<ORGANIZATION>بی بی سی",
        "<PERSON>علی</PERSON> <PERSON>احمد</PERSON>",
        "",
    ])
    report = ReadReport()
    first, second, third = read_inline_markup(path, report)
    assert first.tokens == ["عمران", "خان", "نے", "لاہور", "میں", "کل", "کہا۔"]
    assert first.tags == ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]
    assert second.tokens == ["25", "لوگ", "اور", "اسحاق", "گئے", "بی", "بی", "سی"]
    assert second.tags == ["O", "O", "O", "O", "O", "B-ORG", "I-ORG", "I-ORG"]
    assert third.tags == ["B-PER", "B-PER"]  # two adjacent entities stay two
    assert report.markup == {"glued_close": 1, "malformed_close": 1, "stray_close": 1, "inner_bom": 1,
                             "unclosed_at_end": 1}
    assert report.tags.dropped_types == {"DATE": 1, "NUMBER": 1}
    assert [s.id for s in (first, second, third)] == ["L1", "L2", "L3"]


def test_inline_markup_needs_utf16(tmp_path):
    path = tmp_path / "uner.txt"
    path.write_text("<PERSON>عمران</PERSON>\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"uner\.txt:1: expected UTF-16 with a byte-order mark"):
        list(read_inline_markup(path))


def test_inline_markup_empty_sentence(tmp_path):
    path = write_uner(tmp_path / "uner.txt", ["<PERSON>عمران</PERSON> گئے", "<PERSON></PERSON>"])
    with pytest.raises(ReaderError, match=r"uner\.txt:2: empty sentence"):
        list(read_inline_markup(path))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", "\ufeff\n".encode()])
def test_empty_or_blank_file_is_an_error(tmp_path, content):
    path = tmp_path / "t.conll"
    path.write_bytes(content)
    for strict in (True, False):
        with pytest.raises(ReaderError, match=r"t\.conll: no sentence: the file is empty"):
            list(read_columns(path, 3, strict=strict))


def test_bom_inside_the_file_is_an_error_or_a_counted_repair(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("عمران\tPERSON\n\n".encode() + "\ufeffلاہور\tLOCATION\n".encode())
    with pytest.raises(ReaderError, match=r"t\.txt:3: a byte-order mark"):
        list(read_columns(path, 2, scheme="io"))
    report = ReadReport()
    out = list(read_columns(path, 2, report, strict=False, scheme="io"))
    assert [s.tokens for s in out] == [["عمران"], ["لاہور"]]  # not glued to the token
    assert report.markup["inner_bom"] == 1


def test_errors_name_the_line_of_the_bad_tag_or_token(tmp_path):
    path = tmp_path / "t.conll"
    path.write_text("عمران\tNNP\tB-PER\nخان\tNNP\tI-PER\nلاہور\tNNP\tB-PLACE\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"t\.conll:3: unknown tag 'B-PLACE'"):
        list(read_columns(path, 3))
    path.write_text("عمران\tNNP\tB-PER\n\tNNP\tO\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"t\.conll:2: token '' is empty"):
        list(read_columns(path, 3))


def test_nul_byte_is_reported_on_its_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("عمران\tPERSON\n\nخان\tPER\x00SON\n".encode())
    with pytest.raises(ReaderError, match=r"t\.txt:3: NUL character"):
        list(read_columns(path, 2))
