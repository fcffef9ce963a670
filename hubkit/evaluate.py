"""The word-level data path shared by training and evaluation, and `hubkit evaluate`.

- `load_ner_data`: one `datasets` config per language (`urdu`, `shahmukhi`, `sindhi`, `pashto`)
  of a Hub dataset or a local folder laid out as the repo, checked before any training.
- `encode_windows`: words -> sub-word windows of at most `max_length` tokens. A sentence too long
  for one window is cut between words into several windows (never truncated away); each word's
  label sits on its first sub-word, -100 elsewhere.
- `predict_words`: one predicted tag per word of every sentence, window predictions stitched
  back; `evaluate_model` scores them with hubkit.metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

from hubkit.labels import LABEL2ID, LABELS
from hubkit.metrics import compute_metrics, format_table, save_results
from hubkit.options import COUNT, Range, ranged

# Dataset config name -> ISO 639 code used in model cards.
LANGUAGES: dict[str, str] = {"urdu": "ur", "shahmukhi": "pnb", "sindhi": "sd", "pashto": "ps"}
CODE2LANG = {code: name for name, code in LANGUAGES.items()}
LANG_COLUMN = "hubkit_lang"  # the config a sentence was loaded from (what per-language scores use)
REQUIRED_COLUMNS = ("tokens", "ner_tags")


class DataError(ValueError):
    """A dataset that cannot be used for training or evaluation, with where and why."""


def normalize_languages(languages: Iterable[str]) -> list[str]:
    """`all`, config names or ISO codes (`ps`, `pnb`) -> config names, in the given order."""
    out: list[str] = []
    for lang in languages:
        for part in str(lang).split(","):
            part = part.strip().lower()
            if not part:
                continue
            names = list(LANGUAGES) if part == "all" else [CODE2LANG.get(part, part)]
            for name in names:
                if name not in LANGUAGES:
                    raise DataError(f"unknown language {part!r}: use all, {', '.join(LANGUAGES)} "
                                    f"or {', '.join(CODE2LANG)}")
                if name not in out:
                    out.append(name)
    if not out:
        raise DataError("no language given")
    return out


def _config_names(dataset: str) -> list[str]:
    import datasets

    try:
        return list(datasets.get_dataset_config_names(dataset))
    except Exception as err:  # noqa: BLE001 - any failure here is reported as "cannot read"
        raise DataError(f"cannot read dataset {dataset!r}: {err}") from err


def _load(dataset: str, config: str):
    import datasets

    try:
        return datasets.load_dataset(dataset, config)
    except ValueError as err:
        if "corresponds to no data" in str(err):  # how `datasets` reports a split with no rows
            raise DataError(f"dataset {dataset!r} config {config!r}: the split is empty ({err})") from err
        raise DataError(f"dataset {dataset!r} config {config!r}: cannot load ({err})") from err


def _train_split_for_policy(splits: list[str], policy: str | None) -> str | None:
    if not policy:
        return "train"
    # split names cannot hold "-": `--policy all-correct` is the split `train_all_correct`
    for name in (f"train_{policy}", f"train_{policy.replace('-', '_')}", f"train-{policy}", policy):
        if name in splits:
            return name
    return None


def load_ner_data(dataset: str, languages: Iterable[str], policy: str | None = None,
                  splits: Iterable[str] = ("train", "validation", "test")) -> dict[str, dict]:
    """{split: {language: Dataset}} with a `hubkit_lang` column, every split checked.

    `policy` (augmented datasets) picks the training data: a config `<lang>-<policy>` or
    `<lang>_<policy>` if the dataset has one, else a split `train_<policy>`, `train-<policy>` or
    `<policy>` inside the language config. Evaluation splits always come from the language config.
    """
    if not dataset:
        raise DataError("no dataset given (--dataset ORG/pakner or a folder laid out like it)")
    configs = _config_names(dataset)
    splits = list(splits)
    out: dict[str, dict] = {split: {} for split in splits}
    for lang in normalize_languages(languages):
        if lang not in configs:
            raise DataError(f"dataset {dataset!r} has no config {lang!r} (configs: {', '.join(configs)})")
        dd = _load(dataset, lang)
        train_dd, train_split = dd, "train"
        if "train" in splits and policy:
            policy_cfg = next((c for c in (f"{lang}-{policy}", f"{lang}_{policy}") if c in configs), None)
            if policy_cfg:
                train_dd = _load(dataset, policy_cfg)
            train_split = _train_split_for_policy(list(train_dd), policy) if not policy_cfg else "train"
            if train_split is None or train_split not in train_dd:
                raise DataError(f"dataset {dataset!r}: no training data for policy {policy!r} in language {lang!r} "
                                f"(looked for configs {lang}-{policy}/{lang}_{policy}, splits train_{policy}/"
                                f"train-{policy}/{policy}; splits here: {', '.join(dd)})")
        for split in splits:
            source, name = (train_dd, train_split) if split == "train" else (dd, split)
            if name not in source:
                raise DataError(f"dataset {dataset!r} config {lang!r}: no split {name!r} (has {', '.join(source)})")
            ds = check_split(source[name], f"{dataset} [{lang}/{name}]")
            if LANG_COLUMN in ds.column_names:
                ds = ds.remove_columns(LANG_COLUMN)
            out[split][lang] = ds.add_column(LANG_COLUMN, [lang] * len(ds))
    return out


def check_split(ds, where: str):
    """Raise DataError unless `ds` has tokens/ner_tags with hubkit label ids; returns ds (ids as ints)."""
    import datasets

    missing = [c for c in REQUIRED_COLUMNS if c not in ds.column_names]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)} (columns: {', '.join(ds.column_names)})")
    if len(ds) == 0:
        raise DataError(f"{where}: the split is empty")
    feature = ds.features["ner_tags"]
    inner = getattr(feature, "feature", None)
    if isinstance(inner, datasets.ClassLabel) and list(inner.names) != LABELS:
        raise DataError(f"{where}: ner_tags labels {inner.names} are not the model's label set {LABELS}")
    as_strings = isinstance(inner, datasets.Value) and inner.dtype == "string"
    ids = ds["id"] if "id" in ds.column_names else None
    for row, (tokens, tags) in enumerate(zip(ds["tokens"], ds["ner_tags"])):
        name = f"row {row}" + (f" (id {ids[row]})" if ids is not None else "")
        if len(tokens) != len(tags):
            raise DataError(f"{where}: {name}: {len(tokens)} tokens but {len(tags)} tags")
        if as_strings:
            bad = [t for t in tags if t not in LABEL2ID]
        else:
            bad = [t for t in tags if not isinstance(t, int) or not 0 <= t < len(LABELS)]
        if bad:
            raise DataError(f"{where}: {name}: label(s) {bad[:5]} outside the model's label set {LABELS}")
    if as_strings:
        ds = ds.map(lambda ex: {"ner_tags": [LABEL2ID[t] for t in ex["ner_tags"]]},
                    features=ds.features.copy() | {"ner_tags": datasets.Sequence(datasets.ClassLabel(names=LABELS))})
    return ds


def concat(parts: dict) -> "datasets.Dataset":
    """Languages of one split in one Dataset (only the columns the trainer uses)."""
    import datasets

    keep = ["tokens", "ner_tags", LANG_COLUMN]
    selected = [ds.select_columns(keep) for ds in parts.values()]
    features = selected[0].features  # e.g. ClassLabel in one language, plain ints in another
    return datasets.concatenate_datasets([ds if ds.features == features else ds.cast(features) for ds in selected])


def model_max_length(model) -> int:
    """How many tokens the model's position embeddings allow (RoBERTa-style offsets counted)."""
    config = model.config
    limit = getattr(config, "max_position_embeddings", None) or 10**9
    if "roberta" in config.model_type or config.model_type in ("camembert", "xmod"):
        limit -= (config.pad_token_id or 0) + 1
    return limit


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Ids the tokenizer puts before and after the words of one sequence (e.g. <s> ... </s>)."""
    enc = tokenizer(["x"], is_split_into_words=True)
    word_ids = enc.word_ids()
    first = word_ids.index(0)
    last = len(word_ids) - 1 - word_ids[::-1].index(0)
    return enc["input_ids"][:first], enc["input_ids"][last + 1:]


def encode_windows(ds, tokenizer, max_length: int, desc: str = "tokenizing"):
    """Windows of whole words: columns input_ids, attention_mask, labels, sentence_idx, word_start, n_words."""
    prefix, suffix = _special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for words after special tokens")
    unk = [tokenizer.unk_token_id] if tokenizer.unk_token_id is not None else None

    def encode(batch, indices):
        out = {k: [] for k in ("input_ids", "attention_mask", "labels", "sentence_idx", "word_start", "n_words")}
        flat = [w for words in batch["tokens"] for w in words]
        pieces_flat = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
        pos = 0
        for words, tags, idx in zip(batch["tokens"], batch["ner_tags"], indices):
            pieces = pieces_flat[pos:pos + len(words)]
            pos += len(words)
            # A word with no sub-word (e.g. only a zero-width mark) still gets a position: <unk>.
            pieces = [(p or unk or prefix[:1])[:budget] for p in pieces]
            start = 0
            while start < len(words) or (start == 0 and not words):
                end, used = start, 0
                while end < len(words) and used + len(pieces[end]) <= budget:
                    used += len(pieces[end])
                    end += 1
                ids, labels = list(prefix), [-100] * len(prefix)
                for w in range(start, end):
                    ids += pieces[w]
                    labels += [tags[w]] + [-100] * (len(pieces[w]) - 1)
                ids += suffix
                labels += [-100] * len(suffix)
                for key, val in (("input_ids", ids), ("attention_mask", [1] * len(ids)), ("labels", labels),
                                 ("sentence_idx", idx), ("word_start", start), ("n_words", end - start)):
                    out[key].append(val)
                if not words:
                    break
                start = end
        return out

    return ds.map(encode, batched=True, with_indices=True, remove_columns=ds.column_names, desc=desc,
                  load_from_cache_file=False)


MODEL_COLUMNS = ["input_ids", "attention_mask", "labels"]


def predict_words(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                  desc: str = "predicting", progress: bool = True, bio_decoding: bool = True) -> list[list[str]]:
    """One predicted tag per word for every sentence of `ds` (windows stitched back); with
    `bio_decoding` the best BIO-valid sequence of each sentence (hubkit.decoding), else argmax."""
    import numpy as np
    import torch

    from hubkit.decoding import decode
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import DataCollatorForTokenClassification

    windows = encode_windows(ds, tokenizer, max_length, desc=f"{desc}: tokenizing")
    lengths = [len(x) for x in windows["input_ids"]]
    order = sorted(range(len(windows)), key=lambda i: lengths[i])  # less padding
    windows = windows.select(order)
    meta = list(zip(windows["sentence_idx"], windows["word_start"], windows["n_words"]))
    collator = DataCollatorForTokenClassification(tokenizer)
    loader = DataLoader(windows.select_columns(MODEL_COLUMNS), batch_size=batch_size, collate_fn=collator)
    if accelerator is not None:
        from accelerate.data_loader import prepare_data_loader

        # Not accelerator.prepare: that would register the loader in every later checkpoint.
        loader = prepare_data_loader(loader, accelerator.device, num_processes=accelerator.num_processes,
                                     process_index=accelerator.process_index, put_on_device=True)
        device = accelerator.device
    else:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    flat_scores: list[np.ndarray] = []  # per window: (words, labels) log-probabilities
    main = accelerator is None or accelerator.is_local_main_process
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, disable=not (main and progress), leave=False):
            batch = {k: v.to(device) for k, v in batch.items()}
            labels = batch.pop("labels")
            scores = model(**batch).logits.float().log_softmax(-1)
            if accelerator is not None:
                scores = accelerator.pad_across_processes(scores, dim=1, pad_index=0)
                labels = accelerator.pad_across_processes(labels, dim=1, pad_index=-100)
                scores, labels = accelerator.gather_for_metrics((scores, labels))
            # Word positions are where labels != -100: every word has one there (its first sub-word).
            for sc, l in zip(scores.cpu().numpy(), labels.cpu().numpy()):
                flat_scores.append(sc[l != -100])
    model.train(was_training)
    sentence_scores: list[list[np.ndarray | None]] = [[None] * len(words) for words in ds["tokens"]]
    for (sent, start, n), scores in zip(meta, flat_scores):
        if len(scores) != n:
            raise RuntimeError(f"sentence {sent}: window at word {start} has {n} words but {len(scores)} predictions")
        sentence_scores[sent][start:start + n] = list(scores)
    missing = [i for i, s in enumerate(sentence_scores) if any(t is None for t in s)]
    if missing:
        raise RuntimeError(f"{len(missing)} sentence(s) with unscored words, e.g. sentence {missing[0]}")
    return [[LABELS[i] for i in decode(np.array(s).reshape(len(s), len(LABELS)), bio=bio_decoding)]
            for s in sentence_scores]


def evaluate_dataset(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                     desc: str = "evaluating", bio_decoding: bool = True) -> tuple[dict, list[list[str]]]:
    """(results, predictions) of a model on a Dataset with tokens, ner_tags and hubkit_lang."""
    preds = predict_words(model, tokenizer, ds, batch_size, max_length, accelerator, desc, bio_decoding=bio_decoding)
    gold = [[LABELS[t] for t in tags] for tags in ds["ner_tags"]]
    langs = ds[LANG_COLUMN] if LANG_COLUMN in ds.column_names else None
    return compute_metrics(gold, preds, langs), preds


def evaluate_model(model, dataset, languages: Iterable[str] = ("all",), split: str = "test",
                   batch_size: int = 32, max_length: int = 256, trust_remote_code: bool = False,
                   bio_decoding: bool = True) -> dict:
    """Score a token classifier (folder, Hub id, or (model, tokenizer)) on a dataset split."""
    import torch

    from hubkit.models import load_token_classifier

    if isinstance(model, (str, Path)):
        model, tokenizer = load_token_classifier(str(model), trust_remote_code=trust_remote_code)
    else:
        model, tokenizer = model
    if torch.cuda.is_available() and next(model.parameters()).device.type == "cpu":
        model = model.to("cuda")
    max_length = min(max_length, model_max_length(model))
    if isinstance(dataset, (str, Path)):
        data = load_ner_data(str(dataset), languages, splits=[split])[split]
        ds = concat(data)
    else:
        ds = dataset
    results, _ = evaluate_dataset(model, tokenizer, ds, batch_size, max_length, desc=f"evaluating {split}",
                                  bio_decoding=bio_decoding)
    return results


def _cli_evaluate(args: argparse.Namespace) -> int:
    from hubkit.hardware import apply_threads

    apply_threads(args.threads)
    results = evaluate_model(args.model, args.dataset, args.languages, args.split, args.batch_size,
                             args.max_length, args.trust_remote_code, bio_decoding=not args.no_bio_decoding)
    print(format_table(results, title=f"{args.model} on {args.dataset} [{args.split}]"))
    if args.output:
        path = save_results(args.output, model=str(args.model), dataset=str(args.dataset),
                            languages=normalize_languages(args.languages), **{args.split: results})
        print(f"wrote {path}")
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit evaluate`."""
    p = subparsers.add_parser(
        "evaluate", help="score a fine-tuned NER model on a dataset split (entity-level, per language and type)",
        description="Entity-level precision/recall/F1 (seqeval, strict IOB2) at word level, overall, per "
                    "language and per type, with a span confusion matrix.")
    p.add_argument("--model", required=True, help="fine-tuned model folder or Hub id")
    p.add_argument("--dataset", required=True, help="Hub dataset id or folder laid out as ORG/pakner")
    p.add_argument("--languages", nargs="+", default=["all"], help="all, or some of urdu shahmukhi sindhi pashto")
    p.add_argument("--split", default="test", help="split to score (default: test)")
    p.add_argument("--batch_size", type=ranged(COUNT), default=32)
    p.add_argument("--max_length", type=ranged(Range(4, integer=True)), default=256, help="sub-words per window; longer sentences are split")
    p.add_argument("--output", help="write results.json into this folder")
    p.add_argument("--trust_remote_code", action="store_true", help="run code shipped with the model (off by default)")
    p.add_argument("--threads", type=ranged(COUNT), default=None,
                   help="CPU threads (default: $HUBKIT_CPU_THREADS, else all usable cores)")
    p.add_argument("--no_bio_decoding", action="store_true",
                   help="tag each word by its argmax instead of the best BIO-valid sequence (Viterbi)")
    p.set_defaults(func=_cli_evaluate)
    return p


__all__ = ["LANGUAGES", "DataError", "load_ner_data", "encode_windows", "predict_words", "evaluate_model",
           "evaluate_dataset", "normalize_languages", "add_cli"]
