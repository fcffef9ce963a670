"""The ORG/pakner repo folder: built from the real corpora, loaded with `datasets`."""

import hashlib
import http.server
import io
import re
import tarfile
import threading
from collections import Counter
from pathlib import Path

import datasets
import pyarrow as pa
import pytest

from hubkit.data import corpora
from hubkit.data.build import ALL_CORPORA, build_pakner
from hubkit.cli import main
from hubkit.data.labels import LABELS


@pytest.fixture(scope="module")
def built(real_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pakner")
    summary = build_pakner(real_data_dir, out, progress=False)
    return out, summary


def test_paper_split_sizes_and_features(built):
    out, _ = built
    shahmukhi = datasets.load_dataset(str(out), "shahmukhi")
    assert {s: len(d) for s, d in shahmukhi.items()} == {"train": 12192, "validation": 1355, "test": 5821,
                                                         "validation_paper": 1220}
    pashto = datasets.load_dataset(str(out), "pashto")
    assert [len(pashto[s]) for s in ("train", "validation", "test", "test_reviewed")] == [100, 100, 100, 105]
    feature = shahmukhi["train"].features["ner_tags"]
    assert isinstance(feature.feature, datasets.ClassLabel) and feature.feature.names == LABELS
    assert shahmukhi["train"].column_names == ["id", "tokens", "ner_tags", "lang", "source"]
    everything = datasets.load_dataset(str(out), "all")
    assert set(everything["test"]["lang"]) == {"urdu", "shahmukhi", "sindhi", "pashto"}
    assert len(everything["train"]) == 20000 + 12192 + len(datasets.load_dataset(str(out), "sindhi")["train"]) + 100


def _arrow_rows(path):
    with pa.ipc.open_stream(path) as stream:
        table = stream.read_all()
    return table.column("tokens").to_pylist(), table.column("ner_tags").to_pylist()


def _published_rows(out, config):
    dd = datasets.load_dataset(str(out), config)
    return {row["id"]: row for split in dd.values() for row in split}


@pytest.mark.parametrize("name", [n for n in ALL_CORPORA if corpora.REGISTRY[n].format == "arrow"])
def test_arrow_corpora_are_upstream_byte_for_byte(built, real_data_dir, name):
    """Every upstream row reaches exactly one split, tokens identical, tags identical but for counted repairs."""
    out, summary = built
    corpus = corpora.REGISTRY[name]
    config = next(lang for lang, c in corpora.PRIMARY.items() if c == name) if name in corpora.PRIMARY.values() else name
    published = _published_rows(out, config)
    n_upstream = 0
    changed_tags = 0
    arrow_repairs = corpora.ReadReport()
    for split, ufile in corpus.files.items():
        if ufile.format not in (None, "arrow"):
            continue  # Shahmukhi's upstream train file: its own test below
        corpora.read_corpus_file(corpus, real_data_dir / ufile.local, arrow_repairs)
        tokens, tags = _arrow_rows(real_data_dir / ufile.local)
        n_upstream += len(tokens)
        for i, (toks, ids) in enumerate(zip(tokens, tags)):
            row = published[f"{name}/{split}/{i}"]
            assert row["tokens"] == toks
            changed_tags += sum(a != b for a, b in zip(row["ner_tags"], ids))
    from_arrow = [i for i in published if corpus.files[i.split("/")[1]].format in (None, "arrow")]
    assert len(from_arrow) == n_upstream
    assert changed_tags == arrow_repairs.tags.orphan_i_repaired
    if all(f.format in (None, "arrow") for f in corpus.files.values()):  # else the summary counts the other files too
        assert changed_tags == summary["repairs"][name]["orphan_i_repaired"]


def _conll_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    """(words, tags) of a token-per-line file with the tag in the last column, read without hubkit."""
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").lstrip("\ufeff").splitlines() + [""]:
        if line.strip():
            columns = line.split("\t")
            words.append(columns[0].strip())
            tags.append(columns[-1].strip())
        elif words:
            sentences.append((words, tags))
            words, tags = [], []
    return sentences


def test_shahmukhi_validation_is_held_out_from_train(built, real_data_dir):
    """The paper's validation split lies inside its train split; `validation` is the rest of upstream train."""
    out, _ = built
    shahmukhi = datasets.load_dataset(str(out), "shahmukhi")
    train = Counter(tuple(t) for t in shahmukhi["train"]["tokens"])
    assert all(tuple(t) in train for t in shahmukhi["validation_paper"]["tokens"])
    upstream = _conll_sentences(real_data_dir / "shahmukhi/shahmukhi-ner/Train_pos_ner.conll")
    left, expected = Counter(train), []
    for words, _ in upstream:
        if left[tuple(words)]:
            left[tuple(words)] -= 1
        else:
            expected.append(words)
    assert not +left  # every row of the paper's train split is a row of the upstream train file
    assert [list(t) for t in shahmukhi["validation"]["tokens"]] == expected
    with_entity = [tuple(t) for t, g in zip(shahmukhi["validation"]["tokens"], shahmukhi["validation"]["ner_tags"]) if any(g)]
    assert len(with_entity) > 300 and sum(t in train for t in with_entity) / len(with_entity) < 0.1


def _raw_entities(path: Path, encoding: str) -> tuple[int, Counter]:
    """Tokens and entity counts of a token-per-line file, read independently of hubkit."""
    text = path.read_bytes().decode(encoding).lstrip("\ufeff")
    n_tokens, counts, prev = 0, Counter(), None
    for line in text.splitlines():
        if not line.strip():
            prev = None
            continue
        tag = line.split("\t")[-1].strip()
        n_tokens += 1
        etype = {"PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG"}.get(tag, tag[2:] if tag[1:2] == "-" else None)
        if etype in ("PER", "LOC", "ORG") and (tag.startswith("B-") or prev != etype):
            counts[etype] += 1
        prev = etype
    return n_tokens, counts


@pytest.mark.parametrize("name", ["urdu-ijcnlp2008", "urdu-jahangir", "shahmukhi-ner"])
def test_text_corpora_keep_every_token_and_entity(built, real_data_dir, name):
    out, _ = built
    published = _published_rows(out, name)
    corpus = corpora.REGISTRY[name]
    n_tokens, counts = 0, Counter()
    for ufile in corpus.files.values():
        t, c = _raw_entities(real_data_dir / ufile.local, "utf-8")
        n_tokens += t
        counts += c
    ours = Counter()
    for row in published.values():
        for tag in row["ner_tags"]:
            if LABELS[tag].startswith("B-"):
                ours[LABELS[tag][2:]] += 1
    assert sum(len(r["tokens"]) for r in published.values()) == n_tokens
    assert ours == counts


def test_uner_tokens_are_the_upstream_words(built, real_data_dir):
    out, summary = built
    published = _published_rows(out, "urdu-uner")
    text = (real_data_dir / "urdu/uner/uner.txt").read_bytes().decode("utf-16").replace("\r\n", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        words = re.sub(r"</?[A-Z]+>|/<[A-Z]+>|\ufeff", " ", line).split()
        assert published[f"urdu-uner/all/L{number}"]["tokens"] == words
    assert len(published) == 1637
    opening = Counter(re.findall(r"<(PERSON|LOCATION|ORGANIZATION)>", text))
    ours = Counter(LABELS[t][2:] for r in published.values() for t in r["ner_tags"] if LABELS[t].startswith("B-"))
    malformed_closings = Counter(re.findall(r"/<(PERSON|LOCATION|ORGANIZATION)>", text))
    # every opening tag is one entity, except the `/<TYPE>` closings the regex also matches
    assert {k[:3]: v for k, v in (opening - malformed_closings).items()} == ours


def test_carving_never_touches_test_and_is_disjoint(built):
    out, _ = built
    sindhi = datasets.load_dataset(str(out), "sindhi")
    assert all(i.startswith("sindhi-siner/test_1k/") for i in sindhi["test"]["id"])
    train, val = set(sindhi["train"]["id"]), set(sindhi["validation"]["id"])
    assert not train & val and len(train | val) == 2611


def test_build_is_deterministic(real_data_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        build_pakner(real_data_dir, out, corpus_names=["pashto-wikiann", "urdu-uner"], progress=False)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_card_declares_configs_and_stats(built):
    out, _ = built
    card = (out / "README.md").read_text(encoding="utf-8")
    for config in ("urdu", "shahmukhi", "sindhi", "pashto", "all"):
        assert f"config_name: {config}\n" in card
    assert "| shahmukhi | train | 12,192 | 215,218 |" in card
    assert re.search(r"\| shahmukhi \| validation_paper \| 1,220 \|.* \| 1,220 \|\n", card)  # all also in train
    assert "language:\n- pnb\n- ps\n- sd\n- ur\n" in card
    assert "carved with seed 42" in card and "orphan_i_repaired" in card


def _corrected_pashto_copy(real_data_dir: Path, data_dir: Path) -> Path:
    """data_dir/pashto/wikiann as upstream, but for one changed token in train.arrow."""
    copy = data_dir / "pashto" / "wikiann"
    copy.mkdir(parents=True)
    for split in ("train", "validation", "test", "test_reviewed"):
        copy.joinpath(f"{split}.arrow").write_bytes((real_data_dir / f"pashto/wikiann/{split}.arrow").read_bytes())
    tokens, tags = _arrow_rows(copy / "train.arrow")
    tokens[0][0] = tokens[0][0] + "x"
    table = pa.table({"tokens": tokens, "ner_tags": tags})
    with pa.ipc.new_stream(copy / "train.arrow", table.schema) as writer:
        writer.write_table(table)
    return copy


def test_modified_local_copy_is_refused(real_data_dir, tmp_path):
    copy = _corrected_pashto_copy(real_data_dir, tmp_path)
    with pytest.raises(corpora.DataError, match=r"train\.arrow: sha256 .* differs from the pinned upstream"):
        corpora.load_corpus("pashto-wikiann", tmp_path)


def test_a_corrected_copy_builds_with_allow_modified_and_the_card_says_so(real_data_dir, tmp_path, capsys):
    copy = _corrected_pashto_copy(real_data_dir, tmp_path / "data")
    tokens, _ = _arrow_rows(copy / "train.arrow")
    argv = ["build", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o"), "--corpora", "pashto-wikiann"]
    assert main(argv) == 1 and "--allow-modified" in capsys.readouterr().err
    assert main([*argv, "--allow-modified"]) == 0
    assert "modified local copies of train" in capsys.readouterr().out
    card = (tmp_path / "o" / "README.md").read_text(encoding="utf-8")
    assert f"**modified locally** (`--allow-modified`): built from a copy with sha256 `{corpora.sha256_file(copy / 'train.arrow')}`" in card
    assert card.count("modified locally") == 1  # the untouched files are not marked
    assert datasets.load_dataset(str(tmp_path / "o"), "pashto", split="train")[0]["tokens"][0] == tokens[0][0]


OWN_SENTENCES = [[("عمران", "B-PER"), ("خان", "I-PER"), ("لاہور", "B-LOC"), ("گئے", "O")],
                 [("پاکستان", "B-LOC"), ("کرکٹ", "B-ORG"), ("بورڈ", "I-ORG"), ("نے", "O"), ("کہا", "O")],
                 [("کراچی", "B-LOC"), ("بڑا", "O"), ("شہر", "O"), ("ہے", "O")]]


def _write_own_corpus(folder: Path, n: int = 10, bad_line: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        lines += [f"{w}\t{t}" for w, t in OWN_SENTENCES[i % len(OWN_SENTENCES)]] + [""]
    if bad_line:
        lines[bad_line - 1] = lines[bad_line - 1].split("\t")[0] + "\tB-DATE-X"
    (folder / "train.txt").write_text("\n".join(lines), encoding="utf-8")
    (folder / "test.txt").write_text("\n".join(lines[:10]), encoding="utf-8")
    spec = folder / "corpus.yaml"
    spec.write_text("name: urdu-mine\nlang: urdu\nformat: conll2\nlicense: cc-by-4.0\ntitle: Mine\n"
                    "files:\n  train: train.txt\n  test: test.txt\n"
                    "carve:\n  train: [train, 0.8]\n  validation: [train, 0.2]\n", encoding="utf-8")
    return spec


def test_a_corpus_of_ones_own_builds_a_config_of_its_own(tmp_path, capsys):
    spec = _write_own_corpus(tmp_path / "mine")
    out = tmp_path / "o"
    assert main(["build", "--corpus-file", str(spec), "--corpora", "urdu-mine", "--out", str(out)]) == 0
    dd = datasets.load_dataset(str(out), "urdu-mine")
    assert {s: len(dd[s]) for s in ("train", "validation", "test")} == {"train": 8, "validation": 2, "test": 2}
    first = dd["test"][0]
    assert first["tokens"] == ["عمران", "خان", "لاہور", "گئے"] and first["lang"] == "urdu"
    assert [LABELS[t] for t in first["ner_tags"]] == ["B-PER", "I-PER", "B-LOC", "O"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "the builder's own file `train.txt`" in card and "cc-by-4.0" in card and str(tmp_path) not in card


def test_an_own_corpus_file_error_names_file_and_line_and_lenient_skips_it(tmp_path, capsys):
    spec = _write_own_corpus(tmp_path / "mine", bad_line=7)
    argv = ["build", "--corpus-file", str(spec), "--corpora", "urdu-mine", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r"train\.txt:7: .*B-DATE-X", err) and "Traceback" not in err
    assert main([*argv, "--lenient"]) == 0
    assert "skipped" in capsys.readouterr().out
    assert len(datasets.load_dataset(str(tmp_path / "o"), "urdu-mine", split="train")) + \
        len(datasets.load_dataset(str(tmp_path / "o"), "urdu-mine", split="validation")) == 9


@pytest.mark.parametrize("edit, message", [
    (("license: cc-by-4.0\n", ""), r"missing key\(s\) license"),
    (("title: Mine\n", "titel: Mine\n"), r"unknown key\(s\) titel"),
    (("lang: urdu", "lang: english"), "lang 'english' is not one of"),
    (("format: conll2", "format: xml"), "format 'xml' is not one of"),
    (("test: test.txt", "test: nowhere.txt"), "test: .*nowhere.txt is not a file"),
    (("[train, 0.2]", "[train, 0.3]"), "must add up to 1"),
    (("name: urdu-mine", "name: urdu"), "not a built-in"),
    (("files:", "files: [\n"), r"corpus\.yaml:\d+: not valid YAML"),
])
def test_a_bad_corpus_file_is_one_clear_line_naming_it(tmp_path, capsys, edit, message):
    spec = _write_own_corpus(tmp_path / "mine")
    spec.write_text(spec.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    assert main(["build", "--corpus-file", str(spec), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "corpus.yaml" in err and re.search(message, err), err
    assert not (tmp_path / "o").exists()  # refused before anything is read or written


def test_cli_reports_bad_file_with_line(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "urdu" / "jahangir").mkdir(parents=True)
    (data / "urdu" / "jahangir" / "jahangir.txt").write_text("x\tPERSON\n", encoding="utf-8")
    assert main(["build", "--data-dir", str(data), "--out", str(tmp_path / "o"), "--corpora", "urdu-jahangir"]) == 1
    assert "sha256" in capsys.readouterr().err


def test_download_from_pinned_upstream_over_http(tmp_path, monkeypatch):
    """Without a data dir the file is fetched (here from a server on 127.0.0.1), unpacked and checked."""
    payload = "عمران\tPERSON\n".encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:xz") as tar:
        info = tarfile.TarInfo("jahangir.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    served = {"/o/r/abc/ner/jahangir.tar.xz": archive.getvalue()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(corpora, "UPSTREAM_URL", f"http://127.0.0.1:{server.server_port}")
        good = corpora.UpstreamFile("urdu/jahangir/jahangir.txt", "o/r", "abc", "ner/jahangir.tar.xz",
                                    hashlib.sha256(payload).hexdigest(), member="jahangir.txt")
        path = corpora.locate(good, None, cache_dir=tmp_path)
        assert path.read_bytes() == payload
        bad = corpora.UpstreamFile("urdu/x.txt", "o/r", "abc", "ner/jahangir.tar.xz", "0" * 64, member="jahangir.txt")
        with pytest.raises(corpora.DataError, match="differs from the pinned upstream"):
            corpora.locate(bad, None, cache_dir=tmp_path)
    finally:
        server.shutdown()


def test_no_corpora_and_no_network_is_one_clear_line(tmp_path):
    """Without PAKNER_DATA_DIR and without network: a one-line error saying what to do, no traceback."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PAKNER_DATA_DIR"}
    env.update(HOME=str(tmp_path), https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               XDG_CACHE_HOME=str(tmp_path / "cache"))  # nothing cached; a proxy that refuses: no network
    proc = subprocess.run([sys.executable, "-m", "hubkit.cli", "build", "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "cannot download" in proc.stderr and "PAKNER_DATA_DIR" in proc.stderr
    assert "Traceback" not in proc.stderr and "URLError" not in proc.stderr


def test_rows_not_in_takes_one_row_per_used_row():
    def rows(*words):
        return [corpora.Sentence(f"p/{i}", w.split(), ["O"] * len(w.split())) for i, w in enumerate(words)]
    pool = rows("a b", "c", "a b", "d", "c")
    left = corpora.rows_not_in(pool, rows("a b", "c", "e"))
    assert [s.id for s in left] == ["p/2", "p/3", "p/4"]  # a repeated row stays once it is used up
