"""Readers, one per upstream format, each yielding `Sentence`s in the unified BIO scheme.

Tokens are kept byte for byte as upstream. The only changes a reader makes are the documented
ones, each counted in a `ReadReport`: a file-level BOM is removed, CRLF line ends are read as
LF, tags are mapped onto BIO (see `hubkit.data.labels`), and in UNER's inline markup a tag glued to a
word, or a U+FEFF inside a line, is a token boundary.

Bad input raises `ReaderError` naming the file, the line and the reason. With `strict=False`
the offending sentence is skipped instead and counted under `ReadReport.skipped`, never
dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from hubkit.data.labels import LABELS, TagStats, UnknownTagError, to_bio
from hubkit.errors import DataError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class Sentence:
    id: str
    tokens: list[str]
    tags: list[str]
    line: int = 0  # first line in the upstream file (0 for Arrow rows)


class ReaderError(DataError):
    """Bad input: the message names the file, the line and the reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass
class ReadReport:
    """What a reader did to one file: mapped tags, repairs, skipped sentences."""

    tags: TagStats = field(default_factory=TagStats)
    bom_removed: int = 0
    markup: Counter = field(default_factory=Counter)  # UNER repairs, by kind
    skipped: list[str] = field(default_factory=list)  # "file:line: reason", lenient mode only

    def update(self, other: "ReadReport") -> None:
        self.tags.update(other.tags)
        self.bom_removed += other.bom_removed
        self.markup.update(other.markup)
        self.skipped.extend(other.skipped)

    def as_dict(self) -> dict:
        return {
            **self.tags.as_dict(),
            "bom_removed": self.bom_removed,
            "markup_repairs": dict(sorted(self.markup.items())),
            "skipped": len(self.skipped),
        }


def _decode(path: Path, data: bytes, encoding: str, report: ReadReport) -> str:
    """Decode a whole file; a decoding error names the line it happened on."""
    if encoding == "utf-16":
        if not data.startswith(UTF16_BOMS):
            raise ReaderError(path, 1, "expected UTF-16 with a byte-order mark (FF FE); the file has none")
        report.bom_removed += 1
    elif data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
        report.bom_removed += 1
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        if encoding == "utf-16":
            line = data[: err.start].decode("utf-16", errors="replace").count("\n") + 1
        else:
            line = data[: err.start].count(b"\n") + 1
        hint = "; is the file UTF-16?" if b"\x00" in data[:200] else ""
        raise ReaderError(path, line, f"not valid {encoding.upper()}: {err.reason} at byte {err.start}{hint}") from None
    if encoding != "utf-16" and "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise ReaderError(path, line, "NUL character in a UTF-8 file; is the file UTF-16?")
    return text.replace("\r\n", "\n")


def _line_of(text: str, index: int) -> int:
    return text[:index].count("\n") + 1


def _check(path: Path, line: int, tokens: list[str], tags: list[str], token_lines: list[int] | None = None) -> None:
    if not tokens:
        raise ReaderError(path, line, "empty sentence (no tokens)")
    for i, tok in enumerate(tokens):
        if tok == "" or any(ch.isspace() for ch in tok):
            raise ReaderError(path, token_lines[i] if token_lines else line,
                              f"token {tok!r} is empty or holds whitespace")
    if len(tokens) != len(tags):
        raise ReaderError(path, line, f"{len(tokens)} tokens but {len(tags)} tags")


def _unknown_tag_line(raw_tags: list[str], token_lines: list[int] | None, line: int, scheme: str) -> int:
    """The line of the first tag that the mapping refuses (the sentence's first line if unknown)."""
    for i, tag in enumerate(raw_tags):
        try:
            to_bio([tag], scheme=scheme)
        except UnknownTagError:
            return token_lines[i] if token_lines else line
    return line


def _emit(path, sid, line, tokens, raw_tags, report, strict, scheme="auto",
          token_lines: list[int] | None = None) -> Sentence | None:
    """Map tags, validate, and either return the sentence or (lenient) count it as skipped.
    `token_lines`: each token's own line, so an error names the line it is on."""
    try:
        stats = TagStats()
        tags = to_bio(raw_tags, stats, scheme=scheme)
        _check(path, line, tokens, tags, token_lines)
    except UnknownTagError as err:
        err = ReaderError(path, _unknown_tag_line(raw_tags, token_lines, line, scheme), str(err))
        if strict:
            raise err from None
        report.skipped.append(str(err))
        return None
    except ReaderError as err:
        if strict:
            raise
        report.skipped.append(str(err))
        return None
    report.tags.update(stats)
    return Sentence(sid, tokens, tags, line)


def read_arrow(path: Path | str, report: ReadReport | None = None, strict: bool = True) -> Iterator[Sentence]:
    """An Arrow IPC stream written by `datasets` with `tokens` and integer `ner_tags` (WikiANN ids).

    Read with pyarrow directly, so nothing is written beside the (read-only) upstream file.
    """
    import pyarrow as pa

    path = Path(path)
    report = report if report is not None else ReadReport()
    try:
        with pa.ipc.open_stream(path) as stream:
            table = stream.read_all()
    except (pa.ArrowInvalid, OSError) as err:
        raise ReaderError(path, None, f"not a readable Arrow stream (truncated or corrupt?): {err}") from None
    missing = {"tokens", "ner_tags"} - set(table.column_names)
    if missing:
        raise ReaderError(path, None, f"missing column(s) {sorted(missing)}; found {table.column_names}")
    for i, (tokens, ids) in enumerate(zip(table.column("tokens").to_pylist(), table.column("ner_tags").to_pylist())):
        bad = [t for t in ids if not isinstance(t, int) or not 0 <= t < len(LABELS)]
        raw = [LABELS[t] for t in ids] if not bad else [f"id {bad[0]}"]
        sentence = _emit(path, f"{i}", i + 1, tokens or [], raw, report, strict)
        if sentence is not None:
            sentence.line = i + 1  # row number, 1-based, for messages
            yield sentence


def read_columns(
    path: Path | str,
    n_columns: int,
    report: ReadReport | None = None,
    strict: bool = True,
    scheme: str = "auto",
) -> Iterator[Sentence]:
    """One token a line, tab-separated columns, the tag last; a blank line between sentences.

    Covers 3-column CoNLL (`token<TAB>POS<TAB>NER`) and 2-column `token<TAB>TYPE` files, with
    or without a UTF-8 BOM. Several blank lines in a row are one separator, not empty sentences.
    """
    path = Path(path)
    report = report if report is not None else ReadReport()
    text = _decode(path, path.read_bytes(), "utf-8", report)
    if not text.strip():
        raise ReaderError(path, None, "no sentence: the file is empty or holds only blank lines")
    text = _inner_boms(path, text, report, strict)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tokens: list[str] = []
    tags: list[str] = []
    token_lines: list[int] = []
    start = 0
    broken: str | None = None  # a malformed line inside the current sentence (lenient mode)
    for number, line in enumerate(lines + [""], start=1):
        if line.strip() == "":
            if tokens or broken:
                if broken:
                    report.skipped.append(broken)
                else:
                    sentence = _emit(path, f"L{start}", start, tokens, tags, report, strict, scheme, token_lines)
                    if sentence is not None:
                        yield sentence
            tokens, tags, token_lines, broken = [], [], [], None
            continue
        if not tokens and not broken:
            start = number
        columns = line.split("\t")
        if len(columns) != n_columns or not columns[-1].strip():
            reason = f"expected {n_columns} tab-separated columns (token ... tag), found {len(columns)}: {line[:60]!r}"
            if strict:
                raise ReaderError(path, number, reason)
            broken = broken or str(ReaderError(path, number, reason))
            continue
        tokens.append(columns[0])
        tags.append(columns[-1].strip())
        token_lines.append(number)


def _inner_boms(path: Path, text: str, report: ReadReport, strict: bool) -> str:
    """A U+FEFF after the start of a file (files pasted together) is no part of a token: an error, or
    with strict=False removed and counted (`markup_repairs.inner_bom`)."""
    if "\ufeff" not in text:
        return text
    if strict:
        raise ReaderError(path, _line_of(text, text.index("\ufeff")),
                          "a byte-order mark (U+FEFF) inside the file, e.g. where two files were joined; "
                          "remove it, or build with --lenient to have it removed and counted")
    report.markup["inner_bom"] += text.count("\ufeff")
    return text.replace("\ufeff", "")


_MARKUP = re.compile(r"<(/?)([A-Z]+)>|/<([A-Z]+)>")


def read_inline_markup(path: Path | str, report: ReadReport | None = None, strict: bool = True) -> Iterator[Sentence]:
    """UNER: UTF-16 with BOM, one sentence a line, entities as `<PERSON>…</PERSON>`.

    Repairs, each counted in `report.markup`: a tag glued to a word splits the word there;
    an opening tag while another is open closes the first (`unclosed`); `/<TYPE>` written for
    `</TYPE>` closes (`malformed_close`); a closing tag with nothing open is ignored
    (`stray_close`: its words stay O, since where the entity began is unknown); a tag still
    open at the end of the line closes there (`unclosed_at_end`); U+FEFF inside a line is a
    token boundary (`inner_bom`).
    """
    path = Path(path)
    report = report if report is not None else ReadReport()
    text = _decode(path, path.read_bytes(), "utf-16", report)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        report.markup["inner_bom"] += line.count("\ufeff")
        line = line.replace("\ufeff", " ")
        tokens: list[str] = []
        raw_tags: list[str] = []
        open_type: str | None = None
        fresh = False  # the next word is the first of the open entity
        pos = 0
        for match in list(_MARKUP.finditer(line)) + [None]:
            chunk = line[pos: match.start() if match else len(line)]
            if match and chunk and not chunk[-1].isspace() and match.group(1) != "/" and match.group(3) is None:
                report.markup["glued_open"] += 1  # an opening tag glued to the word before it
            if match and match.group(1) == "/" and match.end() < len(line) and not line[match.end()].isspace():
                report.markup["glued_close"] += 1
            for word in chunk.split():
                tokens.append(word)
                raw_tags.append("O" if open_type is None else ("B-" if fresh else "I-") + open_type)
                fresh = False
            if match is None:
                break
            pos = match.end()
            closing, name = match.group(1) == "/", match.group(2) or match.group(3)
            if match.group(3) is not None:  # `/<TYPE>`
                if open_type == name:
                    report.markup["malformed_close"] += 1
                    open_type = None
                    continue
                report.markup["malformed_open"] += 1  # nothing of that type open: read as opening
            if not closing:
                if open_type:
                    report.markup["unclosed"] += 1
                open_type, fresh = name, True
            elif open_type is None:
                report.markup["stray_close"] += 1
            else:
                if open_type != name:
                    report.markup["mismatched_close"] += 1
                open_type = None
        if open_type:
            report.markup["unclosed_at_end"] += 1
        sentence = _emit(path, f"L{number}", number, tokens, raw_tags, report, strict)
        if sentence is not None:
            yield sentence
