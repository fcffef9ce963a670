"""Predictions per word, their scores, and `hubkit evaluate`.

`word_scores`: per-word label log-probabilities of every sentence, window predictions stitched back;
`predict_words`: one tag per word from them (BIO-valid decoding or argmax);
`evaluate_model` scores them with hubkit.evaluation.metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

from hubkit.data.labels import LABELS
from hubkit.errors import ModelError
from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data, normalize_languages
from hubkit.data.windows import MODEL_COLUMNS, encode_windows, model_max_length
from hubkit.evaluation.metrics import compute_metrics, format_table, save_results
from hubkit.evaluation.calibration import BIAS_RANGE, CONFIG_KEY, model_outside_bias
from hubkit.options import COUNT, Range, ranged


def predict_words(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                  desc: str = "predicting", progress: bool = True, bio_decoding: bool = True,
                  outside_bias: float | None = None, gazetteer=None) -> list[list[str]]:
    """One predicted tag per word for every sentence of `ds` (windows stitched back); with
    `bio_decoding` the best BIO-valid sequence of each sentence (hubkit.evaluation.decoding), else argmax.
    `outside_bias` None: the model's own (hubkit.evaluation.calibration; 0 when never calibrated), or
    the one `gazetteer` stores for the sentence's language; a number: that bias for every sentence.
    `gazetteer` (hubkit.evaluation.gazetteer.StoredGazetteers): see decode_with_gazetteer."""
    scores = word_scores(model, tokenizer, ds, batch_size, max_length, accelerator, desc, progress)
    bias = model_outside_bias(_config_of(model, accelerator)) if outside_bias is None else outside_bias
    gazetteer = gazetteer.at_bias(outside_bias) if gazetteer is not None else None
    return decode_with_gazetteer(ds, scores, bio_decoding, bias, gazetteer)


def decode_with_gazetteer(ds, scores, bio_decoding: bool, outside_bias: float, gazetteer) -> list[list[str]]:
    """Tags of every sentence of `ds` from its word scores, as the model tags beside its gazetteer
    (a hubkit.evaluation.gazetteer.StoredGazetteers, or None: the model alone, at `outside_bias`).
    Each sentence is decoded with the O bias the gazetteer stores for its language (hubkit_lang;
    `outside_bias` where it stores none), then that language's entries fill or override the tags."""
    if gazetteer is None:
        return decode_words(scores, bio_decoding, outside_bias)
    if LANG_COLUMN not in ds.column_names:
        raise ValueError(f"a gazetteer is per language, and these sentences have no {LANG_COLUMN} column")
    langs = ds[LANG_COLUMN]
    tags = decode_words(scores, bio_decoding, [gazetteer.outside_bias(lang, outside_bias) for lang in langs])
    return [gazetteer.apply(lang, words, t) for words, t, lang in zip(ds["tokens"], tags, langs)]


def _config_of(model, accelerator=None):
    return (accelerator.unwrap_model(model) if accelerator is not None else model).config


def decode_words(scores, bio_decoding: bool = True, outside_bias: float | list[float] = 0.0) -> list[list[str]]:
    """Tags of every sentence from its (words, labels) log-probabilities (word_scores), with one O
    bias for all or one per sentence (a list)."""
    from hubkit.evaluation.decoding import decode

    biases = outside_bias if isinstance(outside_bias, list) else [outside_bias] * len(scores)
    return [[LABELS[i] for i in decode(s, bio=bio_decoding, outside_bias=b)] for s, b in zip(scores, biases)]


def word_scores(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                desc: str = "predicting", progress: bool = True) -> list:
    """Per sentence of `ds`, a (words, labels) array of log-probabilities, each word's from its window."""
    import numpy as np
    import torch

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
    return [np.array(s).reshape(len(s), len(LABELS)) for s in sentence_scores]


def evaluate_dataset(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                     desc: str = "evaluating", bio_decoding: bool = True,
                     outside_bias: float | None = None, gazetteer=None) -> tuple[dict, list[list[str]]]:
    """(results, predictions) of a model on a Dataset with tokens, ner_tags and hubkit_lang."""
    preds = predict_words(model, tokenizer, ds, batch_size, max_length, accelerator, desc, bio_decoding=bio_decoding,
                          outside_bias=outside_bias, gazetteer=gazetteer)
    return score_predictions(ds, preds), preds


def score_predictions(ds, preds: list[list[str]]) -> dict:
    """compute_metrics of predicted tags against `ds`'s gold tags, per language when it has hubkit_lang."""
    gold = [[LABELS[t] for t in tags] for tags in ds["ner_tags"]]
    langs = ds[LANG_COLUMN] if LANG_COLUMN in ds.column_names else None
    return compute_metrics(gold, preds, langs)


def evaluate_model(model, dataset, languages: Iterable[str] = ("all",), split: str = "test",
                   batch_size: int = 32, max_length: int = 256, trust_remote_code: bool = False,
                   bio_decoding: bool = True, outside_bias: float | None = None, use_gazetteer: bool = True) -> dict:
    """Score a token classifier (folder, Hub id, or (model, tokenizer)) on a dataset split; a folder or
    Hub id with a gazetteer.json is scored with it unless `use_gazetteer` is False."""
    import torch

    from hubkit.evaluation.gazetteer import model_gazetteers
    from hubkit.models.encoders import load_token_classifier

    gazetteer = None
    if isinstance(model, (str, Path)):
        name = str(model)
        model, tokenizer = load_token_classifier(name, trust_remote_code=trust_remote_code)
        gazetteer = model_gazetteers(name) if use_gazetteer else None  # once the name is known to be a model
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
                                  bio_decoding=bio_decoding, outside_bias=outside_bias, gazetteer=gazetteer)
    return results


def _cli_evaluate(args: argparse.Namespace) -> int:
    from hubkit.hardware import apply_threads

    apply_threads(args.threads)
    results = evaluate_model(args.model, args.dataset, args.languages, args.split, args.batch_size,
                             args.max_length, args.trust_remote_code, bio_decoding=not args.no_bio_decoding,
                             outside_bias=args.outside_bias, use_gazetteer=not args.no_gazetteer)
    print(format_table(results, title=f"{args.model} on {args.dataset} [{args.split}]"))
    if args.output:
        path = save_results(args.output, model=str(args.model), dataset=str(args.dataset),
                            languages=normalize_languages(args.languages), **{args.split: results})
        print(f"wrote {path}")
    return 0


def model_folder_to_write(model: str, verb: str) -> Path:
    """The folder a verb that stores its choice with the model (calibrate, gazetteer) writes into."""
    folder = Path(model)
    if not (folder / "config.json").is_file():
        raise ModelError(f"--model {model}: not a model folder (no config.json); {verb} writes into it")
    return folder


def add_scoring_options(p: argparse.ArgumentParser, model_help: str, split_help: str, split: str) -> None:
    """The options of every verb that scores a model on a dataset split (evaluate, calibrate, gazetteer)."""
    p.add_argument("--model", required=True, help=model_help)
    p.add_argument("--dataset", required=True, help="Hub dataset id or folder laid out as ORG/pakner")
    p.add_argument("--languages", nargs="+", default=["all"], help="all, or some of urdu shahmukhi sindhi pashto")
    p.add_argument("--split", default=split, help=split_help)
    p.add_argument("--batch_size", type=ranged(COUNT), default=32, help="windows per forward pass (default 32)")
    p.add_argument("--max_length", type=ranged(Range(4, integer=True)), default=256,
                   help="sub-words per window; longer sentences are split")
    p.add_argument("--threads", type=ranged(COUNT), default=None,
                   help="CPU threads (default: $HUBKIT_CPU_THREADS, else all usable cores)")


def add_choosing_options(p: argparse.ArgumentParser) -> None:
    """The scoring options of a verb that chooses a setting on validation and writes it into the
    model folder (calibrate, gazetteer; see model_folder_to_write)."""
    add_scoring_options(p, "a fine-tuned model folder (written in place)",
                        "the split to choose on (default: validation; never test)", "validation")


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit evaluate`."""
    p = subparsers.add_parser(
        "evaluate", help="score a fine-tuned NER model on a dataset split (entity-level, per language and type)",
        description="Entity-level precision/recall/F1 (seqeval, strict IOB2) at word level, overall, per "
                    "language and per type, with a span confusion matrix.")
    add_scoring_options(p, "fine-tuned model folder or Hub id", "split to score (default: test)", "test")
    p.add_argument("--output", help="write results.json into this folder")
    p.add_argument("--trust_remote_code", action="store_true", help="run code shipped with the model (off by default)")
    p.add_argument("--no_bio_decoding", action="store_true",
                   help="tag each word by its argmax instead of the best BIO-valid sequence (Viterbi)")
    p.add_argument("--outside_bias", type=ranged(BIAS_RANGE), default=None,
                   help="added to every word's O log-probability before decoding, in every language (default: "
                        "the language's bias in the model's gazetteer.json, from `hubkit gazetteer`, else the "
                        f"model's {CONFIG_KEY} from `hubkit calibrate`, else 0)")
    p.add_argument("--no_gazetteer", action="store_true",
                   help="score the model alone, without the gazetteer.json stored with it (hubkit gazetteer)")
    p.set_defaults(func=_cli_evaluate)
    return p


__all__ = ["load_ner_data", "encode_windows", "predict_words", "evaluate_model",
           "evaluate_dataset", "normalize_languages", "add_cli"]
