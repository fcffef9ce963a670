"""A corpus of one's own, described in a YAML file, for `hubkit build --corpus-file FILE`.

    name: urdu-news            # its config in the built dataset (lower case, digits, -)
    lang: urdu                 # urdu, shahmukhi, sindhi or pashto
    format: conll2             # conll2 (token<TAB>BIO tag), conll3 (token<TAB>POS<TAB>tag),
                               # columns2 (token<TAB>TYPE, IO), inline (<PERSON>...</PERSON>), arrow
    license: cc-by-4.0         # written into the dataset card
    title: My Urdu news NER    # optional; citation: optional
    files:                     # paths relative to this file
      train: train.txt
      test: test.txt
    carve:                     # optional: split -> [from, fraction]; a source's parts sum to 1
      train: [train, 0.9]
      validation: [train, 0.1]

The files are read with the same readers as the registered corpora (`file:line: reason`,
`--lenient`), and the card names each file by its path as written here, with its sha256.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hubkit.data.corpora import FORMATS, REGISTRY, SPLITS, Corpus, UpstreamFile
from hubkit.errors import DataError
from hubkit.files import sha256_file
from hubkit.languages import LANGUAGES

REQUIRED = ("name", "lang", "format", "license", "files")
OPTIONAL = ("title", "citation", "carve", "note")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def load_corpus_spec(spec: Path) -> Corpus:
    """The Corpus a YAML file describes; DataError naming the file (and line or key) when it cannot be."""
    values = _load_yaml(spec)
    unknown = sorted(set(values) - set(REQUIRED) - set(OPTIONAL))
    missing = [k for k in REQUIRED if k not in values]
    if unknown or missing:
        raise DataError(f"{spec}: " + "; ".join(
            ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
            + ([f"missing key(s) {', '.join(missing)}"] if missing else [])) + f" (keys: {', '.join(REQUIRED + OPTIONAL)})")
    name, lang, fmt = (str(values[k]) for k in ("name", "lang", "format"))
    if not NAME_RE.fullmatch(name) or name in REGISTRY or name in LANGUAGES or name == "all":
        raise DataError(f"{spec}: name {name!r} must be lower-case letters, digits and '-', and not a built-in "
                        "corpus or config name")
    if lang not in LANGUAGES:
        raise DataError(f"{spec}: lang {lang!r} is not one of {', '.join(LANGUAGES)}")
    if fmt not in FORMATS:
        raise DataError(f"{spec}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    files = _files(spec, values["files"])
    carve = _carve(spec, values.get("carve") or {}, set(files))
    return Corpus(name, lang, str(values.get("title") or name), fmt, files, str(values["license"]),
                  str(values.get("citation") or "not given"), carve=carve,
                  note=str(values.get("note") or "a corpus of the builder's own (hubkit build --corpus-file)"))


def _load_yaml(spec: Path) -> dict:
    if not spec.is_file():
        raise DataError(f"{spec}: no such corpus file")
    try:
        values = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else "?"
        raise DataError(f"{spec}:{line}: not valid YAML ({err.problem})") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{spec}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not isinstance(values, dict):
        raise DataError(f"{spec}: expected keys ({', '.join(REQUIRED)}), found {type(values).__name__}")
    return values


def _files(spec: Path, files) -> dict[str, UpstreamFile]:
    if not isinstance(files, dict) or not files:
        raise DataError(f"{spec}: files must map split names to paths (train: train.txt)")
    out = {}
    for split, rel in files.items():
        path = (spec.parent / str(rel)).resolve()
        if not path.is_file():
            raise DataError(f"{spec}: files: {split}: {path} is not a file")
        # repo "" marks a local file; `path` (as written, never an absolute path) is what the card shows
        shown = str(rel) if not Path(str(rel)).is_absolute() else Path(str(rel)).name
        out[str(split)] = UpstreamFile(str(path), "", "", shown, sha256_file(path))
    return out


def _carve(spec: Path, carve, sources: set[str]) -> dict[str, tuple[str, float]]:
    if not isinstance(carve, dict):
        raise DataError(f"{spec}: carve must map a split to [from, fraction]")
    out: dict[str, tuple[str, float]] = {}
    totals: dict[str, float] = {}
    for new, value in carve.items():
        ok = isinstance(value, list) and len(value) == 2 and value[0] in sources and isinstance(value[1], (int, float))
        if not ok or not 0 < value[1] <= 1:
            raise DataError(f"{spec}: carve: {new}: expected [one of {', '.join(sorted(sources))}, a fraction "
                            f"in (0, 1]], not {value!r}")
        out[str(new)] = (value[0], float(value[1]))
        totals[value[0]] = totals.get(value[0], 0.0) + float(value[1])
    bad = [src for src, total in totals.items() if abs(total - 1) > 1e-6]
    if bad:
        raise DataError(f"{spec}: carve: the parts of {', '.join(bad)} must add up to 1 (every sentence somewhere)")
    have = (sources - set(totals)) | set(out)
    if not set(SPLITS) <= have:
        raise DataError(f"{spec}: no {', '.join(s for s in SPLITS if s not in have)} split: give the file or carve it")
    return out


__all__ = ["load_corpus_spec", "REQUIRED", "OPTIONAL"]
