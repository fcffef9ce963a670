"""Vocabulary trimming: keep only the sub-word pieces a corpus uses, so the embedding matrix shrinks.

multilingual-e5-small (like XLM-R) carries 250,002 SentencePiece pieces: 96M of its 118M weights
are the word-embedding rows, most of them for scripts no Pakistani corpus uses. `trim_vocabulary`
keeps
- every piece the tokenizer produces on the given texts (the train and validation splits of
  every config of a dataset: never the test splits, which are only measured),
- every piece written wholly in the Arabic script (14,639 of XLM-R's pieces), so a word of the
  four languages that the training text never had is still segmented as the full tokenizer does,
- every piece of ASCII digits and punctuation, and the ASCII pieces among the 30,000 best-scored
  (SentencePiece's most frequent): Latin names, numbers and URLs in Wikipedia titles,
- every single-character piece of the other scripts these corpora's Wikipedia text shows
  (Latin with its accents, Greek, Cyrillic, Devanagari, punctuation), so a foreign name still
  splits into known characters instead of <unk>,
- the special and added tokens,
and writes a folder in which the Unigram `tokenizer.json` lists only those pieces (same order,
scores and normaliser), the embedding rows are re-indexed the same way and `vocab_size` and the
special-token ids of the config follow. Every other tensor is copied unchanged, so where the two
tokenizers give the same pieces the trimmed model computes exactly what the full one does.

`segmentation_report` measures how the trimmed tokenizer fares on held-out words (unknown
pieces, share of words segmented exactly as the full tokenizer).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from hubkit.errors import ModelError
from hubkit.files import atomic_folder, cache_root

TRIM_INFO = "hubkit_trim.json"
TRIM_RECIPE = 1  # part of the cache key: bump when what is kept changes
# Arabic, Arabic Supplement, Arabic Extended-A/B, Presentation Forms A/B.
ARABIC_RANGES: tuple[tuple[int, int], ...] = (
    (0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
# Single characters kept from the other scripts: ASCII, Latin-1 and Latin Extended-A/B, Greek,
# Cyrillic, Devanagari, general punctuation and currency signs.
CHARACTER_RANGES: tuple[tuple[int, int], ...] = ARABIC_RANGES + (
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x4FF), (0x900, 0x97F), (0x2000, 0x20CF))
SPIECE_SPACE = "\u2581"
FREQUENT_ASCII_RANK = 30_000  # ASCII pieces are kept when among this many best-scored pieces
_ASCII = re.compile(r"[!-~]+")
_ASCII_NUMERIC = re.compile(r"[0-9!-/:-@\[-`{-~]+")


class TrimError(ModelError):
    """A model folder that cannot be trimmed (no fast Unigram tokenizer, no embedding rows)."""


@dataclass
class TrimResult:
    folder: Path
    kept: list[int]  # old ids, in new-id order
    old_size: int


def in_scripts(char: str, ranges: Sequence[tuple[int, int]] = CHARACTER_RANGES) -> bool:
    return any(lo <= ord(char) <= hi for lo, hi in ranges)


def is_arabic_piece(piece: str) -> bool:
    bare = piece.lstrip(SPIECE_SPACE)
    return bool(bare) and all(in_scripts(c, ARABIC_RANGES) for c in bare)


def _script_piece(piece: str, rank: int) -> bool:
    """Kept whatever the corpus: the Arabic script whole, ASCII numbers/punctuation, frequent ASCII, characters."""
    bare = piece.lstrip(SPIECE_SPACE)
    if not bare:
        return piece == SPIECE_SPACE
    if is_arabic_piece(piece) or _ASCII_NUMERIC.fullmatch(bare):
        return True
    if rank < FREQUENT_ASCII_RANK and _ASCII.fullmatch(bare):
        return True
    return len(bare) == 1 and in_scripts(bare)


def _read_spec(model_dir: Path) -> dict:
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise TrimError(f"{model_dir}: no tokenizer.json (trimming needs a fast tokenizer)")
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("model", {}).get("type") != "Unigram":
        raise TrimError(f"{path}: a {spec.get('model', {}).get('type')} tokenizer; trimming handles Unigram "
                        "(SentencePiece: XLM-R, e5, Glot500) only")
    return spec


def used_piece_ids(tokenizer, word_lists: Iterable[Sequence[str]], batch: int = 4096) -> set[int]:
    """Ids of every piece the tokenizer produces on the words, each word tokenized alone (as in training)."""
    used: set[int] = set()
    words: list[str] = []
    for ws in word_lists:
        words.extend(ws)
        if len(words) >= batch:
            for ids in tokenizer(words, add_special_tokens=False)["input_ids"]:
                used.update(ids)
            words = []
    if words:
        for ids in tokenizer(words, add_special_tokens=False)["input_ids"]:
            used.update(ids)
    return used


def pieces_to_keep(spec: dict, used: set[int]) -> list[int]:
    """Old ids to keep, ascending: used pieces, Arabic-script pieces, single characters of the
    other scripts, special/added tokens, <unk>."""
    vocab = spec["model"]["vocab"]
    keep = set(used)
    keep.update(t["id"] for t in spec.get("added_tokens", []))
    if spec["model"].get("unk_id") is not None:
        keep.add(spec["model"]["unk_id"])
    by_score = sorted(range(len(vocab)), key=lambda i: -vocab[i][1])
    rank = {i: r for r, i in enumerate(by_score)}
    keep.update(i for i, (piece, _) in enumerate(vocab) if _script_piece(piece, rank[i]))
    return sorted(i for i in keep if i < len(vocab))


def _remap_ids(node, new_id: dict[int, int]):
    """Special-token ids inside a post-processor spec (TemplateProcessing or RobertaProcessing)."""
    if isinstance(node, dict):
        out = {}
        for key, val in node.items():
            if key == "ids" and isinstance(val, list):
                out[key] = [new_id[i] for i in val]
            elif key in ("sep", "cls") and isinstance(val, list) and len(val) == 2 and isinstance(val[1], int):
                out[key] = [val[0], new_id[val[1]]]
            else:
                out[key] = _remap_ids(val, new_id)
        return out
    if isinstance(node, list):
        return [_remap_ids(v, new_id) for v in node]
    return node


def trimmed_spec(spec: dict, kept: list[int]) -> dict:
    new_id = {old: new for new, old in enumerate(kept)}
    out = json.loads(json.dumps(spec))
    out["model"]["vocab"] = [spec["model"]["vocab"][i] for i in kept]
    if spec["model"].get("unk_id") is not None:
        out["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    out["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in spec.get("added_tokens", [])]
    out["post_processor"] = _remap_ids(spec.get("post_processor"), new_id)
    return out


def _trimmed_tensors(model_dir: Path, vocab_rows: int, kept: list[int]) -> dict:
    """Every tensor of model.safetensors, those with one row per vocabulary entry cut to `kept`."""
    import torch
    from safetensors.torch import load_file

    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise TrimError(f"{model_dir}: no model.safetensors")
    tensors = load_file(str(path))
    index = torch.tensor(kept)
    cut = [name for name, t in tensors.items() if t.dim() >= 1 and t.shape[0] == vocab_rows]
    if not any("word_embeddings" in n or "embed_tokens" in n for n in cut):
        raise TrimError(f"{path}: no word-embedding tensor with {vocab_rows} rows")
    for name in cut:
        tensors[name] = tensors[name].index_select(0, index).contiguous()
    return tensors


def _trimmed_config(model_dir: Path, kept: list[int]) -> dict:
    config = json.loads((model_dir / "config.json").read_text())
    new_id = {old: new for new, old in enumerate(kept)}
    config["vocab_size"] = len(kept)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
        if isinstance(config.get(key), int):
            config[key] = new_id.get(config[key], config[key] if config[key] < len(kept) else None)
    return config


def write_trimmed(model_dir: str | os.PathLike, kept: list[int], out_dir: str | os.PathLike,
                  info: dict | None = None) -> TrimResult:
    """Write the trimmed folder (atomically: a temp folder renamed into place)."""
    from safetensors.torch import save_file

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    spec = _read_spec(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    tensors = _trimmed_tensors(model_dir, config["vocab_size"], kept)
    with atomic_folder(out_dir, replace=True) as tmp:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(_trimmed_config(model_dir, kept), indent=2) + "\n")
        (tmp / "tokenizer.json").write_text(json.dumps(trimmed_spec(spec, kept), ensure_ascii=False), encoding="utf-8")
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            if (model_dir / name).is_file():
                shutil.copy2(model_dir / name, tmp / name)
        record = {"recipe": TRIM_RECIPE, "source_vocab_size": len(spec["model"]["vocab"]), "kept": len(kept),
                  **(info or {})}
        (tmp / TRIM_INFO).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return TrimResult(out_dir, kept, len(spec["model"]["vocab"]))


def trim_vocabulary(model_dir: str | os.PathLike, word_lists: Iterable[Sequence[str]],
                    out_dir: str | os.PathLike, info: dict | None = None) -> TrimResult:
    """Trim `model_dir` to the pieces `word_lists` use (plus script characters and specials)."""
    from hubkit.models.encoders import load_tokenizer

    model_dir = Path(model_dir)
    spec = _read_spec(model_dir)
    used = used_piece_ids(load_tokenizer(str(model_dir)), word_lists)
    return write_trimmed(model_dir, pieces_to_keep(spec, used), out_dir, info)


# ----------------------------------------------------------------------------- corpus texts
def vocabulary_texts(dataset: str) -> tuple[list[list[str]], list[str]]:
    """(word lists, "config/split" names read): every train* and validation split of every config."""
    from hubkit.data.loading import config_names, load_config

    words, read = [], []
    for config in config_names(dataset):
        for split, ds in load_config(dataset, config).items():
            if split == "validation" or split.startswith("train"):
                words.extend(ds["tokens"])
                read.append(f"{config}/{split}")
    if not words:
        raise TrimError(f"{dataset}: no train or validation split to choose a vocabulary from")
    return words, read


def trimmed_model_for_dataset(model_dir: str | os.PathLike, dataset: str,
                              cache_dir: str | os.PathLike | None = None) -> Path:
    """The model trimmed on the dataset's train+validation text, built once per (model, text)."""
    from hubkit.models.encoders import load_tokenizer

    model_dir = Path(model_dir)
    words, read = vocabulary_texts(dataset)
    spec = _read_spec(model_dir)
    kept = pieces_to_keep(spec, used_piece_ids(load_tokenizer(str(model_dir)), words))
    key = hashlib.sha256(json.dumps([model_dir.name, kept, TRIM_RECIPE]).encode()).hexdigest()[:12]
    folder = Path(cache_dir or cache_root()) / "models" / "trimmed" / f"{model_dir.name}-{key}"
    if (folder / TRIM_INFO).is_file():
        return folder
    info = {"source": model_dir.name, "dataset": Path(dataset).name, "splits": read}
    return write_trimmed(model_dir, kept, folder, info).folder


# ----------------------------------------------------------------------------- measuring
def segmentation_report(full_tokenizer, trimmed_tokenizer, kept: Sequence[int],
                        word_lists: Iterable[Sequence[str]]) -> dict:
    """On held-out words: unknown pieces, and the share of words whose pieces equal the full tokenizer's."""
    words = [w for ws in word_lists for w in ws]
    full = full_tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    trim = trimmed_tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    unk = trimmed_tokenizer.unk_token_id
    same = sum(1 for f, t in zip(full, trim) if f == [kept[i] for i in t])
    return {"words": len(words), "same_segmentation": same,
            "same_share": same / len(words) if words else 1.0,
            "unknown_pieces": sum(t.count(unk) for t in trim),
            "unknown_pieces_full": sum(f.count(full_tokenizer.unk_token_id) for f in full)}


def folder_bytes(folder: str | os.PathLike) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


# ----------------------------------------------------------------------------- CLI
def _cli_trim(args: argparse.Namespace) -> int:
    from hubkit.models.encoders import load_tokenizer, resolve_model

    source = Path(resolve_model(args.model))
    if not source.is_dir():
        raise TrimError(f"no such folder: {args.model}")
    if Path(args.out).exists() and any(Path(args.out).iterdir()):
        raise TrimError(f"{args.out}: exists and is not empty (remove it or choose another --out)")
    words, read = vocabulary_texts(args.dataset)
    result = trim_vocabulary(source, words, args.out, {"source": source.name, "dataset": Path(args.dataset).name,
                                                        "splits": read})
    print(f"kept {len(result.kept):,} of {result.old_size:,} pieces; {folder_bytes(source) / 2**20:.0f} MiB -> "
          f"{folder_bytes(result.folder) / 2**20:.0f} MiB: {result.folder}")
    if args.report_split:
        full_tok, trim_tok = load_tokenizer(str(source)), load_tokenizer(str(result.folder))
        from hubkit.data.loading import config_names, load_config

        for config in config_names(args.dataset):
            dd = load_config(args.dataset, config)
            for split in args.report_split:
                if split in dd:
                    rep = segmentation_report(full_tok, trim_tok, result.kept, dd[split]["tokens"])
                    print(f"{config}/{split}: {rep['same_share']:.2%} of {rep['words']:,} words segmented as the "
                          f"full tokenizer, {rep['unknown_pieces']} unknown pieces")
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "trim-vocab", help="shrink a model's vocabulary to the pieces a dataset uses (smaller, faster to train)",
        description="Keep the sub-word pieces the tokenizer produces on every train and validation split of "
                    "DATASET (all configs), every Arabic-script piece, ASCII numbers and punctuation, the frequent ASCII "
                    "pieces, every single-character piece of the Latin, Greek, Cyrillic and Devanagari scripts, "
                    "the special tokens; re-index the embedding rows, tokenizer.json and vocab_size. Test "
                    "splits never choose pieces; --report-split measures them.")
    p.add_argument("--model", default="e5-small", help="model folder, or e5-small (default)")
    p.add_argument("--dataset", required=True, help="folder laid out as ORG/pakner (or a Hub id)")
    p.add_argument("--out", required=True, help="output folder (must not exist or be empty)")
    p.add_argument("--report-split", nargs="*", default=["test"],
                   help="splits on which to report unknown pieces and segmentation agreement (default: test)")
    p.set_defaults(func=_cli_trim)
    return p
