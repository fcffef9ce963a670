"""The registry of upstream corpora, and turning them into per-config `DatasetDict`s.

Every corpus names its upstream files (repository, pinned commit, path, sha256) so that a user
with internet gets the same bytes, and a local folder that overrides the download
(`--data-dir` / `PAKNER_DATA_DIR`, laid out as `../shared/data`). Where upstream has no split,
train/validation (and test, for corpora with no test at all) are carved with a fixed seed;
an upstream test split is never touched.
"""

from __future__ import annotations

import io
import os
import random
import tarfile
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hubkit.data.labels import LABELS, tags_to_ids
from hubkit.errors import DataError
from hubkit.files import cache_root, sha256_file, write_bytes_atomically
from hubkit.data.readers import ReadReport, Sentence, read_arrow, read_columns, read_inline_markup

SPLITS = ("train", "validation", "test")
CARVE_SEED = 42
UPSTREAM_URL = os.environ.get("PAKNER_UPSTREAM_URL", "https://raw.githubusercontent.com")

_NE_AUG = ("toqeerehsan/ne_augmentation", "88dd8450730b6727b2df63db37b76a1336ea1a9f")
_MIRFAN = "mirfan899/Urdu"
_EHSAN_2025 = (
    "T. Ehsan and T. Solorio. 2025. Enhancing NER Performance in Low-Resource Pakistani Languages "
    "using Cross-Lingual Data Augmentation. W-NUT 2025, pp. 117-132. arXiv:2504.08792."
)
_WIKIANN = (
    "X. Pan et al. 2017. Cross-lingual Name Tagging and Linking for 282 Languages. ACL 2017. "
    "A. Rahimi, Y. Li, T. Cohn. 2019. Massively Multilingual Transfer for NER. ACL 2019."
)
_NE_AUG_LICENSE = "no license stated upstream; the authors' README says 'for academic and research purposes'"


@dataclass(frozen=True)
class UpstreamFile:
    local: str  # path under the data dir
    repo: str  # GitHub owner/name
    commit: str
    path: str  # path in the repository at that commit
    sha256: str  # of the file itself (of the archive member, where `member` is set)
    member: str | None = None  # file inside a .tar.* archive
    format: str | None = None  # where it differs from its corpus's format

    @property
    def url(self) -> str:
        return f"{UPSTREAM_URL}/{self.repo}/{self.commit}/{self.path}"


@dataclass(frozen=True)
class Corpus:
    name: str  # also the config name of its own config, e.g. "urdu-uner"
    lang: str  # one of hubkit.languages.LANGUAGES
    title: str
    format: str  # arrow | conll3 | columns2 | inline
    files: dict[str, UpstreamFile]  # upstream split name -> file
    license: str
    citation: str
    # carve[new_split] = (from_split, fraction): e.g. validation 10% of the upstream validation file
    carve: dict[str, tuple[str, float]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)  # upstream split -> published split
    # held_out[new_split] = (pool, used): the rows of upstream split `pool` that upstream split `used`
    # does not hold (as a multiset of token sequences); the pool itself is not published
    held_out: dict[str, tuple[str, str]] = field(default_factory=dict)
    note: str = ""


def _ne_aug(local_dir: str, folder: str, split_names: dict[str, str], sums: dict[str, str]) -> dict[str, UpstreamFile]:
    repo, commit = _NE_AUG
    return {
        ours: UpstreamFile(f"{local_dir}/{ours}.arrow", repo, commit,
                           f"datasets/{folder}/{theirs}/data-00000-of-00001.arrow", sums[ours])
        for ours, theirs in split_names.items()
    }


_SHAHMUKHI_NER = ("toqeerehsan/Punjabi-Shahmukhi-Named-Entity-Recognition", "de9dd7e599b18f6081bb4e706f4d1bba02590790")
_SHAHMUKHI_NER_FILES = {
    "train": ("Train_pos_ner.conll", "17952460e4d958cb221d53e7462b3b31c38e71add2258a91b982bed52bb03313"),
    "test": ("Test_pos_ner.conll", "d6c0a6c49f485f35cb3d27cd704ca737a2ceb4f725c6e1e901d9d641f085ae0c"),
}


def _shahmukhi_ner(split: str, file_format: str | None = None) -> UpstreamFile:
    name, digest = _SHAHMUKHI_NER_FILES[split]
    return UpstreamFile(f"shahmukhi/shahmukhi-ner/{name}", *_SHAHMUKHI_NER, f"Dataset/IOB/{name}", digest, format=file_format)


REGISTRY: dict[str, Corpus] = {c.name: c for c in [
    Corpus(
        "urdu-wikiann", "urdu", "Urdu WikiANN (Rahimi et al. 2019 splits, as used by Ehsan & Solorio 2025)", "arrow",
        _ne_aug("urdu/wikiann", "ur-wikki_all_cross_cl_BERT_Top5_aug.hf",
                {"train": "train", "validation": "validation", "test": "test"},
                {"train": "30ac8137700527abbf96cf528e999222360f19d3a9953bd7c666553c1f59380b",
                 "validation": "18f0ff4e64153dd2a75f0557c36273ce7c44d82b8153832928d40ff17c129f66",
                 "test": "ea7ec244ef61e7d52ac4c742760179230cd69d2e1f56cce5ff3d1edba7648f70"}),
        "WikiANN: ODC-BY (Wikipedia text CC BY-SA); " + _NE_AUG_LICENSE, _WIKIANN + " " + _EHSAN_2025,
        note="Many sentences are Wikipedia titles; redirect lines start with رجوع_مکرر tagged O.",
    ),
    Corpus(
        "urdu-mk-pucit", "urdu", "MK-PUCIT (partial: validation and test_1k of the Ehsan & Solorio 2025 release)", "arrow",
        _ne_aug("urdu/mk-pucit-partial", "mk-pucit-1k_original.hf",
                {"validation": "validation", "test_1k": "test_1k"},
                {"validation": "605852837962535e9f925b45c6767ac44e0b4b2155939153f87bc1d91b4a9c57",
                 "test_1k": "d362aa0c8aeea725d9247d7c5e2c5f766be31b77bdbe78f4d77b0a8dbda3092c"}),
        _NE_AUG_LICENSE,
        "S. Kanwal et al. 2019. Urdu Named Entity Recognition: Corpus Generation and Deep Learning "
        "Applications. ACM TALLIP. doi:10.1145/3329710. " + _EHSAN_2025,
        carve={"train": ("validation", 0.9), "validation": ("validation", 0.1)}, rename={"test_1k": "test"},
        note="The upstream train file is not available; train/validation are carved from the upstream validation file.",
    ),
    Corpus(
        "urdu-uner", "urdu", "UNER (Khan et al. 2016)", "inline",
        {"all": UpstreamFile("urdu/uner/uner.txt", _MIRFAN, "ffa7a6d20f9fee2c6f2332f48b1bf32ed386d093", "ner/uner.txt",
                             "ef54c4ac19bc23d6e7d08bb127cc838c67a4158f766693c80cde4f752cfe671f")},
        "MIT (repository mirfan899/Urdu); the dataset's own license is not stated",
        "W. Khan, A. Daud, J. A. Nasir, T. Amjad. 2016. Named Entity Dataset for Urdu Named Entity "
        "Recognition Task. CLT 2016.",
        carve={"train": ("all", 0.8), "validation": ("all", 0.1), "test": ("all", 0.1)},
    ),
    Corpus(
        "urdu-ijcnlp2008", "urdu", "IJCNLP-2008 NERSSEAL, Urdu portion", "columns2",
        {"all": UpstreamFile("urdu/ijcnlp2008/ijnlp.txt", _MIRFAN, "95e11cb47a742868803de4083116fadea7782d30",
                             "ner/ijnlp.tar.xz", "f9c340424cae740f80319e7b03da169405e9042115d22fc8538254ece4ccfd58",
                             member="ijnlp.txt")},
        "MIT (repository mirfan899/Urdu); the shared task's own terms are not stated",
        "A. K. Singh. 2008. Named Entity Recognition for South and South East Asian Languages: Taking "
        "Stock. IJCNLP-08 Workshop on NER for South and South East Asian Languages.",
        carve={"train": ("all", 0.8), "validation": ("all", 0.1), "test": ("all", 0.1)},
        note="IO tags: adjacent entities of the same type merge into one.",
    ),
    Corpus(
        "urdu-jahangir", "urdu", "Jahangir et al. 2012 Urdu NER data", "columns2",
        {"all": UpstreamFile("urdu/jahangir/jahangir.txt", _MIRFAN, "95e11cb47a742868803de4083116fadea7782d30",
                             "ner/jahangir.tar.xz", "a20e198a12256386edcba600a97d18e2b933f2b9af76102f6b51ce7333b4f182",
                             member="jahangir.txt")},
        "MIT (repository mirfan899/Urdu); the authors' own terms are not stated",
        "F. Jahangir, W. Anwar, U. I. Bajwa, X. Wang. 2012. N-gram and Gazetteer List Based Named "
        "Entity Recognition for Urdu: A Scarce Resourced Language. ALR 10 (COLING 2012 workshop).",
        carve={"train": ("all", 0.8), "validation": ("all", 0.1), "test": ("all", 0.1)},
        note="IO tags: adjacent entities of the same type merge into one.",
    ),
    Corpus(
        "shahmukhi-paper", "shahmukhi", "Shahmukhi NER, the splits of Ehsan & Solorio 2025", "arrow",
        _ne_aug("shahmukhi/paper-splits", "shahmukhi_final_2.hf",
                {"train": "train", "validation": "validation", "test": "test"},
                {"train": "ddaa18ac330514315cfdc4bfec3a29841ccadcb5500f8b84fe8ae69b8fc224f0",
                 "validation": "d1339a3c7d7e04bd590077bad34714bae394b98925cea006817aade6d5cde0fd",
                 "test": "3b98f0758d11cdd059a45bc17331d64d49b6a390e1186e23453315b8892a2a9e"})
        | {"upstream_train": _shahmukhi_ner("train", file_format="conll3")},
        _NE_AUG_LICENSE + "; underlying corpus: no license stated",
        "M. T. Ahmad et al. 2020. Named Entity Recognition and Classification for Punjabi Shahmukhi. "
        "ACM TALLIP 19(4). doi:10.1145/3383306. " + _EHSAN_2025,
        # every sentence of the paper's validation split is also in its train split
        rename={"validation": "validation_paper"}, held_out={"validation": ("upstream_train", "train")},
        note="About 70% of the sentences have no entity. All 1,220 sentences of the paper's validation split "
             "also occur in its train split, so it is kept as `validation_paper`; `validation` holds the 1,355 "
             "rows of the upstream train file (Tehseen et al. 2023) that the paper's train split left out.",
    ),
    Corpus(
        "shahmukhi-ner", "shahmukhi", "Shahmukhi NER, cleaned corpus (Tehseen et al. 2023), IOB", "conll3",
        {split: _shahmukhi_ner(split) for split in _SHAHMUKHI_NER_FILES},
        "no license stated upstream (treat as research-only)",
        "A. Tehseen, T. Ehsan et al. 2023. Shahmukhi named entity recognition by using contextualized "
        "word embeddings. Expert Systems with Applications 229:120489.",
        carve={"train": ("train", 0.9), "validation": ("train", 0.1)},
        note="No dev split upstream: validation is carved from the train file.",
    ),
    Corpus(
        "sindhi-siner", "sindhi", "SiNER (partial: validation and test_1k of the Ehsan & Solorio 2025 release)", "arrow",
        _ne_aug("sindhi/siner-partial", "sindhi_final_2.hf",
                {"validation": "validation", "test_1k": "test_1k"},
                {"validation": "36745a4daeacf57f6b7590cadbea2d04176e76c760c06bb3e26b37ab6320af2a",
                 "test_1k": "8f0a69df8b7cbb994295fcb3d4f588dfdf63f1ceb68204079477eb30119707fb"}),
        _NE_AUG_LICENSE,
        "W. Ali, J. Lu, Z. Xu. 2020. SiNER: A Large Dataset for Sindhi Named Entity Recognition. "
        "LREC 2020, pp. 2953-2961. " + _EHSAN_2025,
        carve={"train": ("validation", 0.9), "validation": ("validation", 0.1)}, rename={"test_1k": "test"},
        note="The upstream train file is not available; train/validation are carved from the upstream validation file.",
    ),
    Corpus(
        "pashto-wikiann", "pashto", "Pashto WikiANN (Rahimi et al. 2019 splits) and the authors' reviewed test", "arrow",
        _ne_aug("pashto/wikiann", "pashto_final_1.hf",
                {"train": "train", "validation": "validation", "test": "test", "test_reviewed": "test_100_reviewed"},
                {"train": "76fdbdb83a0da986f565d345936fb569880323ccd412cf81154da110ed0a0464",
                 "validation": "d7dd3ba83e35a93281add76e318d902dc4df14cd4e1a200e84242a96b9105298",
                 "test": "f44549e1a907b29bf76bfa8f667a926999bccf973d9d9b7eecd7abe5f7c775ef",
                 "test_reviewed": "e98965f7b36e7729cb2f77581e9e52874ea27dee998f6d05ceea82c40997cde7"}),
        "WikiANN: ODC-BY (Wikipedia text CC BY-SA); " + _NE_AUG_LICENSE, _WIKIANN + " " + _EHSAN_2025,
        note="`test_reviewed` is the authors' corrected test set (more entities, BIO fixed).",
    ),
]}

# The corpus behind each language config: the paper's splits.
PRIMARY: dict[str, str] = {
    "urdu": "urdu-wikiann", "shahmukhi": "shahmukhi-paper", "sindhi": "sindhi-siner", "pashto": "pashto-wikiann",
}


def default_data_dir() -> Path | None:
    env = os.environ.get("PAKNER_DATA_DIR")
    return Path(env) if env else None


def locate(upstream: UpstreamFile, data_dir: Path | None, cache_dir: Path | None = None,
           verify: bool = True) -> Path:
    """The local file for `upstream`: from the data dir if given, else downloaded once and cached.

    Both are checked against the pinned sha256 (a local copy that differs is an error, not a
    silent substitute).
    """
    if not upstream.repo:  # a corpus of one's own (hubkit.data.corpus_file): the file itself, its sum just taken
        path = Path(upstream.local)
    elif data_dir is not None:
        path = Path(data_dir) / upstream.local
        if not path.is_file():
            raise DataError(f"{path}: not found (expected the upstream file {upstream.repo}@{upstream.commit[:7]}:{upstream.path})")
    else:
        cache = Path(cache_dir or cache_root()) / "upstream"
        path = cache / upstream.local
        if not path.is_file():
            _download(upstream, path)
    if verify:
        actual = sha256_file(path)
        if actual != upstream.sha256:
            raise DataError(f"{path}: sha256 {actual} differs from the pinned upstream {upstream.sha256} "
                            f"({upstream.repo}@{upstream.commit[:7]}:{upstream.path}); to build from a corrected "
                            "copy, pass --allow-modified (the dataset card then records the change)")
    return path


def _download(upstream: UpstreamFile, dest: Path) -> None:
    try:
        with urllib.request.urlopen(upstream.url, timeout=60) as response:  # noqa: S310 (pinned https URL)
            payload = response.read()
    except OSError as err:  # URLError, timeouts, refused connections
        reason = getattr(err, "reason", err)
        raise DataError(f"cannot download {upstream.url} ({reason}): without network, point --data-dir or "
                        "PAKNER_DATA_DIR at a local copy of the corpora (laid out as ../shared/data)") from None
    if upstream.member:
        with tarfile.open(fileobj=io.BytesIO(payload)) as archive:
            member = archive.extractfile(upstream.member)
            if member is None:
                raise DataError(f"{upstream.url}: no member {upstream.member}")
            payload = member.read()
    write_bytes_atomically(dest, payload)


FORMATS = ("arrow", "conll3", "conll2", "columns2", "inline")


def read_corpus_file(corpus: Corpus, path: Path, report: ReadReport, strict: bool = True,
                     file_format: str | None = None) -> list[Sentence]:
    fmt = file_format or corpus.format
    if fmt == "arrow":
        return list(read_arrow(path, report, strict))
    if fmt == "conll3":
        return list(read_columns(path, 3, report, strict))
    if fmt == "columns2":
        return list(read_columns(path, 2, report, strict, scheme="io"))
    if fmt == "conll2":
        return list(read_columns(path, 2, report, strict))
    if fmt == "inline":
        return list(read_inline_markup(path, report, strict))
    raise ValueError(f"unknown format {fmt!r} for corpus {corpus.name}")


@dataclass
class CorpusSplits:
    corpus: Corpus
    splits: dict[str, list[Sentence]]
    report: ReadReport
    modified: dict[str, str] = field(default_factory=dict)  # upstream split -> sha256 of a changed local copy


def carve(sentences: list[Sentence], parts: dict[str, float], seed: int = CARVE_SEED) -> dict[str, list[Sentence]]:
    """Split one list into parts by fractions, with a fixed-seed shuffle; upstream order kept inside each part."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    out: dict[str, list[Sentence]] = {}
    start = 0
    names = list(parts)
    for n, name in enumerate(names):
        end = len(order) if n == len(names) - 1 else start + round(parts[name] * len(order))
        out[name] = [sentences[i] for i in sorted(order[start:end])]
        start = end
    return out


def rows_not_in(pool: list[Sentence], used: list[Sentence]) -> list[Sentence]:
    """The rows of `pool` left once each row of `used` has taken one row with the same tokens."""
    left = Counter(tuple(s.tokens) for s in used)
    out = []
    for sentence in pool:
        key = tuple(sentence.tokens)
        if left[key]:
            left[key] -= 1
        else:
            out.append(sentence)
    return out


def load_corpus(name: str | Corpus, data_dir: Path | None = None, strict: bool = True,
                allow_modified: bool = False) -> CorpusSplits:
    """Read every file of a corpus (a registered name, or a Corpus of one's own) and return its
    published splits. `allow_modified`: a local copy whose sha256 differs from the pinned one is
    read, and its sum recorded in `modified`, instead of stopping the build."""
    corpus = REGISTRY[name] if isinstance(name, str) else name
    name = corpus.name
    report = ReadReport()
    upstream: dict[str, list[Sentence]] = {}
    modified: dict[str, str] = {}
    for split, ufile in corpus.files.items():
        path = locate(ufile, data_dir, verify=not allow_modified)
        if allow_modified and (actual := sha256_file(path)) != ufile.sha256:
            modified[split] = actual
        sentences = read_corpus_file(corpus, path, report, strict, ufile.format)
        prefix = f"{corpus.name}/{split}/"
        for s in sentences:
            s.id = prefix + s.id
        upstream[split] = sentences
    splits: dict[str, list[Sentence]] = {}
    by_source: dict[str, dict[str, float]] = {}
    for new, (source, fraction) in corpus.carve.items():
        by_source.setdefault(source, {})[new] = fraction
    for source, parts in by_source.items():
        splits.update(carve(upstream.pop(source), parts))
    for new, (pool, used) in corpus.held_out.items():
        splits[new] = rows_not_in(upstream.pop(pool), upstream[used])
    for split, sentences in upstream.items():
        splits[corpus.rename.get(split, split)] = sentences
    for split in SPLITS:
        if split not in splits:
            raise DataError(f"corpus {name}: no {split} split and nothing to carve it from")
    ordered = {s: splits[s] for s in SPLITS}
    ordered.update({s: v for s, v in splits.items() if s not in SPLITS})
    return CorpusSplits(corpus, ordered, report, modified)


def features():
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=LABELS)),
        "lang": datasets.Value("string"),
        "source": datasets.Value("string"),
    })


def to_dataset(sentences: list[Sentence], lang: str, source: str):
    import datasets

    return datasets.Dataset.from_dict({
        "id": [s.id for s in sentences],
        "tokens": [s.tokens for s in sentences],
        "ner_tags": [tags_to_ids(s.tags) for s in sentences],
        "lang": [lang] * len(sentences),
        "source": [source] * len(sentences),
    }, features=features())
