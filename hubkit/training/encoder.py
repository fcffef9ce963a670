"""Fine-tune a masked encoder for PER/LOC/ORG tagging with a plain accelerate loop.

    accelerate launch hubkit/train.py --model_name_or_path cis-lmu/glot500-base \
        --dataset ORG/pakner-aug --languages shahmukhi pashto --output_dir out/glot500
    python -m hubkit.train config.yaml          # the same options from a YAML or JSON file
    hubkit train --model_name_or_path tiny ...  # the same main, in-process

In the spirit of transformers' examples/pytorch/token-classification/run_ner_no_trainer.py:
labels on the first sub-word of each word (-100 elsewhere), dynamic padding, batches grouped by
length, validation every epoch, the best weights kept by validation F1, the test split scored
once at the end with them. Sentences longer than `--max_length` sub-words are split into windows
of whole words, so every word of every sentence is scored. `accelerator.save_state` checkpoints
hold the model, optimizer, scheduler, RNG states and the loop position, so
`--resume_from_checkpoint` continues from the same step with the same results. CPU, one GPU or
several (DDP; FSDP/DeepSpeed through `configs/accelerate_fsdp.yaml`) all run through accelerate.

`--policy` (augmented datasets such as ORG/pakner-aug): the name of the augmentation policy; the
training data is then read from a config `<language>-<policy>` (or `<language>_<policy>`) when the
dataset has one, else from a split `train_<policy>`, `train-<policy>` or `<policy>` of the
language config. Validation and test always come from the language config.

Outputs in `--output_dir`: the model (safetensors) and tokenizer, `results.json` (validation and
test, per language and type, span confusion matrices), `all_results.json` (flat numbers),
`README.md` (model card with `model-index`) and `confusion_matrix.png`.
"""


from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from hubkit.data.loading import LANG_COLUMN, add_further_training, concat, load_ner_data, normalize_languages
from hubkit.data.windows import MODEL_COLUMNS, encode_windows, model_max_length
from hubkit.errors import DataError
from hubkit.evaluation.metrics import format_table
from hubkit.evaluation.predict import evaluate_dataset
from hubkit.hardware import PRECISIONS, apply_threads, check_process_group, resolve_precision
from hubkit.options import check_fields
from hubkit.training.arguments import (EVAL_SPLITS, DataArguments, ModelArguments, TrainArguments,
                                       parse_dataclass_args, recorded_options)
from hubkit.training.best_model import BestModel, EarlyStopping
# STATE_FILE and TrainState are also imported from here, where they lived before the split.
from hubkit.training.checkpoints import STATE_FILE, Checkpoints, check_checkpoint, check_every  # noqa: F401
from hubkit.training.loop import Plugin, TrainLoop, TrainState, start_accelerator  # noqa: F401
from hubkit.training.command import add_passthrough_verb, run_command
from hubkit.training.outputs import check_push, flat_results, public_name, publish_when_asked, write_results

logger = logging.getLogger("hubkit.training.encoder")

ARG_TYPES = (ModelArguments, DataArguments, TrainArguments)


def parse_args(argv: list[str] | None = None):
    """(model_args, data_args, train_args) from the command line or one YAML/JSON file."""
    return parse_dataclass_args(ARG_TYPES, "hubkit train", __doc__.split("\n\n")[0], argv)


# ----------------------------------------------------------------------------- training data
def temperature_sample(parts: dict, temperature: float | None, seed: int):
    """Concatenate languages; with T != 1 resample each to N * p_l, p_l ~ (n_l / N)^(1/T)."""
    import datasets
    import numpy as np

    if not temperature or temperature == 1 or len(parts) == 1:
        return concat(parts)
    sizes = {lang: len(ds) for lang, ds in parts.items()}
    total = sum(sizes.values())
    weights = {lang: (n / total) ** (1.0 / temperature) for lang, n in sizes.items()}
    norm = sum(weights.values())
    rng = np.random.default_rng(seed)
    sampled = {}
    for lang, ds in parts.items():
        target = max(1, round(total * weights[lang] / norm))
        # Whole copies first, then a random remainder: every sentence is seen when up-sampling.
        idx = np.concatenate([np.tile(np.arange(sizes[lang]), target // sizes[lang]),
                              rng.permutation(sizes[lang])[: target % sizes[lang]]])
        sampled[lang] = ds.select(idx.tolist())
        logger.info("temperature %.2f: %s %d -> %d sentences", temperature, lang, sizes[lang], target)
    return concat(sampled) if sampled else datasets.Dataset.from_dict({})


def drop_sentences_without_entities(ds, keep: float, seed: int):
    """Keep every sentence with an entity and a seeded share `keep` of those without (validation/test untouched)."""
    import numpy as np

    empty = np.array([not any(tags) for tags in ds["ner_tags"]])  # tag 0 is O
    keep_empty = np.random.default_rng(seed).random(len(ds)) < keep
    kept = np.flatnonzero(~empty | keep_empty)
    logger.info("kept %d of %d training sentences without entities (--keep_sentences_without_entities %s)",
                int((empty & keep_empty).sum()), int(empty.sum()), keep)
    return ds.select(kept.tolist())


def _training_data(data_args: DataArguments, languages: list[str], seed: int):
    """(train, validation, test): every language's splits loaded and checked, the training sentences sampled."""
    data = load_ner_data(data_args.dataset, languages, policy=data_args.policy)
    data["train"] = add_further_training(data["train"], data_args.dataset, data_args.further_train_configs,
                                         (data["validation"], data["test"]))
    if data_args.max_eval_samples:
        for split in ("validation", "test"):
            data[split] = {l: ds.select(range(min(len(ds), data_args.max_eval_samples))) for l, ds in data[split].items()}
    train_ds = temperature_sample(data["train"], data_args.sampling_temperature, seed)
    n_before = len(train_ds)
    train_ds = train_ds.filter(lambda ex: len(ex["tokens"]) > 0, desc="dropping empty sentences")
    if len(train_ds) < n_before:  # e.g. augmented copies whose only word (the entity) was deleted
        logger.info("dropped %d empty training sentences", n_before - len(train_ds))
    if len(train_ds) == 0:
        raise DataError(f"{data_args.dataset}: no non-empty training sentence")
    if data_args.keep_sentences_without_entities < 1:
        train_ds = drop_sentences_without_entities(train_ds, data_args.keep_sentences_without_entities, seed)
    if data_args.max_train_samples:
        n = min(data_args.max_train_samples, len(train_ds))
        train_ds = train_ds.shuffle(seed=seed).select(range(n))
    val_ds, test_ds = concat(data["validation"]), concat(data["test"])
    return train_ds, val_ds, test_ds


class _EpochSampler:
    """Length-grouped order that depends only on (seed, epoch): resume replays the same batches.

    Not named `set_epoch`: accelerate calls that with its own count of iterations of a loader,
    which restarts at 0 in the loader `skip_first_batches` makes for a resumed epoch.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        import torch
        from transformers.trainer_pt_utils import LengthGroupedSampler

        self.seed, self.generator = seed, torch.Generator()
        self.inner = LengthGroupedSampler(batch_size, lengths=lengths, generator=self.generator)
        self.use_epoch(0)

    def use_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)

    def __len__(self):
        return len(self.inner)

    def __iter__(self):
        return iter(self.inner)


# ----------------------------------------------------------------------------- checks and warnings
def _check_before_training(model_args, data_args, train_args) -> None:
    check_push(train_args)
    check_every(train_args.checkpointing_steps)
    for args in (model_args, data_args, train_args):  # again: run() is also called without the parser
        check_fields(args)
    _check_output_dir(Path(train_args.output_dir))
    ckpt = train_args.resume_from_checkpoint
    if ckpt and ckpt != "latest":
        check_checkpoint(Path(ckpt))
    if train_args.mixed_precision not in PRECISIONS:
        raise ValueError(f"--mixed_precision must be one of {', '.join(PRECISIONS)}, "
                         f"not {train_args.mixed_precision!r}")


def _check_output_dir(output_dir: Path) -> None:
    """Fail before training, not after it, when the results could not be written."""
    import os

    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output_dir {output_dir}: exists and is not a folder")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"--output_dir {output_dir}: cannot write there ({err.strerror})") from None


def no_entity_warning(validation: dict, learning_rate: float, batch_size: int) -> str | None:
    """A run whose best weights tag no entity at all learned only the 'O' prior: say so, and why it happens."""
    overall = validation["overall"]
    if not overall["n_gold"] or overall["n_pred"]:
        return None
    # Seen with e5-small on 741 Shahmukhi sentences: lr 3e-4 at batch 8 stayed at loss ~0.56 and F1 0
    # for 4 epochs, while lr 1e-4 reached validation F1 38 in the same steps; and on the four
    # languages mixed at lr 2e-4, batch 16 (1e-4 learned).
    return (f"the best weights tag no entity among the {overall['n_gold']} validation entities: the model learned "
            f"only 'O'. With a pretrained encoder this is usually a learning rate too high for the batch size "
            f"(here {learning_rate:g} at batch {batch_size}) or too few steps: try a lower --learning_rate "
            f"or more epochs.")


# ----------------------------------------------------------------------------- the run, stage by stage
def _token_loss(model, batch):
    return model(**batch).loss


class _Validation(Plugin):
    """Each epoch's validation F1 into the history (and the trackers), where BestModel and EarlyStopping read it."""

    def __init__(self, stages: "_EncoderRun"):
        self.stages = stages

    def on_epoch_end(self, loop, epoch: int, train_loss: float) -> bool:
        f1 = self.stages.score(loop.model, self.stages.val_ds, f"validation epoch {epoch}")["overall"]["f1"]
        loop.state.history.append({"epoch": epoch, "step": loop.state.completed_steps, "train_loss": train_loss,
                                   "validation_f1": f1})
        logger.info("epoch %d step %d: train loss %.4f, validation F1 %.4f", epoch, loop.state.completed_steps,
                    train_loss, f1)
        if self.stages.train_args.report_to != "none":
            self.stages.accelerator.log({"train_loss": train_loss, "validation_f1": f1, "epoch": epoch},
                                        step=loop.state.completed_steps)
        return False


class _EncoderRun:
    """One `hubkit train` run; `run()` calls its stages in order, which share what they made as attributes."""

    def __init__(self, model_args: ModelArguments, data_args: DataArguments, train_args: TrainArguments):
        _check_before_training(model_args, data_args, train_args)
        self.model_args, self.data_args, self.train_args = model_args, data_args, train_args
        self.output_dir = Path(train_args.output_dir)
        self.accelerator = start_accelerator(
            train_args.seed, log_with=None if train_args.report_to == "none" else train_args.report_to,
            project_dir=str(self.output_dir), mixed_precision=resolve_precision(train_args.mixed_precision))
        check_process_group(self.accelerator.num_processes, self.accelerator.device.type)
        self.threads = apply_threads(train_args.cpu_threads) if self.accelerator.device.type == "cpu" else None
        self.languages = normalize_languages(data_args.languages)
        self.best = BestModel(self.accelerator, self.output_dir / "best_model")  # best weights so far

    def load_data(self) -> None:
        """Data, checked before any model is built or trained. Rank 0 first: it writes the datasets
        cache files (filter, map) that the other ranks then read instead of writing them alongside."""
        with self.accelerator.main_process_first():
            self.train_ds, self.val_ds, self.test_ds = _training_data(self.data_args, self.languages,
                                                                      self.train_args.seed)

    def load_model(self):
        """The model and tokenizer (`tiny` learns its tokenizer from the training sentences; built once, by rank 0)."""
        from hubkit.models.encoders import load_for_training, resolve_model

        args = self.model_args
        with self.accelerator.main_process_first():
            name = resolve_model(args.model_name_or_path, cache_dir=args.cache_dir,
                                 sentences=(" ".join(t) for t in self.train_ds["tokens"]), seed=self.train_args.seed,
                                 vocab_dataset=self.data_args.dataset)
        model, self.tokenizer = load_for_training(name, trust_remote_code=args.trust_remote_code)
        limit = model_max_length(model)
        if self.data_args.max_length > limit:
            raise ValueError(f"--max_length {self.data_args.max_length} is more than {args.model_name_or_path} "
                             f"allows ({limit} positions)")
        return model

    def prepare_loop(self, model) -> TrainLoop:
        """Windows, loader and optimizer, prepared by accelerate."""
        import torch
        from torch.utils.data import DataLoader
        from transformers import DataCollatorForTokenClassification

        acc, args = self.accelerator, self.train_args
        with acc.main_process_first():
            windows = encode_windows(self.train_ds, self.tokenizer, self.data_args.max_length, desc="tokenizing train")
        self.n_windows = len(windows)
        sampler = _EpochSampler([len(x) for x in windows["input_ids"]], args.per_device_train_batch_size * acc.num_processes,
                                args.seed)
        collator = DataCollatorForTokenClassification(self.tokenizer,
                                                      pad_to_multiple_of=8 if acc.mixed_precision != "no" else None)
        # Its own generator: creating an iterator then draws no number from the global RNG, whose
        # state (dropout) a checkpoint restores; a resumed run creates its iterator mid-epoch.
        loader = DataLoader(windows.select_columns(MODEL_COLUMNS), sampler=sampler,
                            batch_size=args.per_device_train_batch_size, collate_fn=collator,
                            generator=torch.Generator().manual_seed(args.seed))
        optimizer = torch.optim.AdamW(_parameter_groups(model, args), lr=args.learning_rate)
        return TrainLoop(acc, model, optimizer, loader, args, _token_loss, epoch_sampler=sampler)

    def fit(self, loop: TrainLoop) -> None:
        """Validation, best weights, checkpoints and early stopping around the loop; resume first if asked."""
        args = self.train_args
        if args.report_to != "none":
            config = {**asdict(self.model_args), **asdict(self.data_args), **asdict(args)}
            self.accelerator.init_trackers("hubkit-ner", {k: str(v) for k, v in config.items()})
        checkpoints = Checkpoints(self.accelerator, self.output_dir, args.checkpointing_steps, self.best.folder)
        self.resumed_from = (checkpoints.resume(args.resume_from_checkpoint, loop.state)
                             if args.resume_from_checkpoint else None)
        loop.plugins = [_Validation(self), self.best, checkpoints, EarlyStopping(args.early_stopping_patience)]
        logger.info("training on %d sentences (%d windows), %d epochs, %d optimizer steps", len(self.train_ds),
                    self.n_windows, loop.num_epochs, loop.total_steps)
        loop.fit()

    def score(self, model, ds, desc: str) -> dict:
        results, _ = evaluate_dataset(model, self.tokenizer, ds, self.train_args.per_device_eval_batch_size,
                                      self.data_args.max_length, self.accelerator, desc=desc,
                                      bio_decoding=self.train_args.bio_decoding)
        return results

    def final_results(self, loop: TrainLoop) -> dict:
        """The best weights back in the model, validation and test scored once with them: results.json."""
        self.best.restore(loop.model)
        if self.train_args.calibrate_outside_bias:
            calibration, validation = self.calibrate(loop.model)
        else:
            calibration, validation = None, self.score(loop.model, self.val_ds, "validation (best)")
        test = self.score(loop.model, self.test_ds, "test (best)")
        state, acc, args = loop.state, self.accelerator, self.train_args
        # Words (labelled first sub-words) trained per second of loop time, all processes together.
        self.words_per_second = state.train_words * acc.num_processes / state.train_seconds if state.train_seconds else 0.0
        setup = {
            "base_model": public_name(self.model_args.model_name_or_path), "dataset": public_name(self.data_args.dataset),
            "languages": self.languages, **recorded_options(self.model_args, self.data_args, args),
            "train_sentences": len(self.train_ds), "train_windows": self.n_windows, "num_train_epochs": loop.num_epochs,
            "epochs_run": len(state.history), "optimizer_steps": state.completed_steps,
            "num_processes": acc.num_processes, "best_epoch": state.best_epoch, "resumed_from_step": self.resumed_from,
            "mixed_precision": acc.mixed_precision, "device": str(acc.device), "cpu_threads": self.threads,
            "train_words_per_second": self.words_per_second,
        }
        warning = no_entity_warning(validation, args.learning_rate, args.per_device_train_batch_size)
        if warning:
            logger.warning(warning)
        return {"model": args.hub_model_id or self.output_dir.name, "setup": setup, "history": state.history,
                "validation": validation, "test": test, "warnings": [warning] if warning else [],
                **({"calibration": calibration} if calibration else {})}

    def calibrate(self, model) -> tuple[dict, dict]:
        """(the O bias chosen on validation, set on the model's config and saved with it; validation
        scored with it, from the same forward pass)."""
        from hubkit.evaluation.calibration import calibrate_model, grid_row
        from hubkit.evaluation.predict import decode_words, score_predictions

        args = self.train_args
        choice, scores = calibrate_model(model, self.tokenizer, self.val_ds, args.per_device_eval_batch_size,
                                         self.data_args.max_length, self.accelerator, args.bio_decoding)
        logger.info("O bias %g chosen on validation (mean per-language F1 %.4f; %.4f without)", choice["outside_bias"],
                    grid_row(choice)["mean"], grid_row(choice, 0.0)["mean"])
        validation = score_predictions(self.val_ds, decode_words(scores, args.bio_decoding, choice["outside_bias"]))
        return choice, validation

    def write_outputs(self, loop: TrainLoop, results: dict) -> None:
        """The folder: final (best) weights, tokenizer, results, card; then trackers closed, the folder published."""
        from hubkit.hub.cards import write_model_card

        acc, out, history = self.accelerator, self.output_dir, loop.state.history
        final_state = acc.get_state_dict(loop.model)  # on every rank: FSDP gathers the shards
        if acc.is_main_process:
            acc.unwrap_model(loop.model).save_pretrained(out, state_dict=final_state, safe_serialization=True)
            self.tokenizer.save_pretrained(out)
            write_results(out, results, flat_results(
                results, EVAL_SPLITS, epoch=len(history), train_loss=history[-1]["train_loss"] if history else None,
                train_words_per_second=self.words_per_second, optimizer_steps=loop.state.completed_steps))
            write_model_card(out, results)
            # Checkpoints hold optimizer state: kept locally, never published (hubkit.hub.publish honours it).
            (out / ".gitignore").write_text("checkpoints/\nbest_model/\n")
            print(format_table(results["test"], title=f"test ({', '.join(self.languages)})"))
        self.best.discard()
        if self.train_args.report_to != "none":
            acc.end_training()
        publish_when_asked(acc, self.train_args, out)


def _parameter_groups(model, train_args) -> list[dict]:
    """The trainable parameters, weight decay on all but biases and layer norms."""
    if train_args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in trainable if not any(k in n for k in no_decay)], "weight_decay": train_args.weight_decay},
        {"params": [p for n, p in trainable if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]


def run(model_args: ModelArguments, data_args: DataArguments, train_args: TrainArguments) -> dict:
    """Train, evaluate, write the folder; returns the results dict written to results.json."""
    stages = _EncoderRun(model_args, data_args, train_args)
    stages.load_data()
    loop = stages.prepare_loop(stages.load_model())
    stages.fit(loop)
    results = stages.final_results(loop)
    stages.write_outputs(loop, results)
    return results


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    return run_command(parse_args, run, argv)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit train`: the same options as `accelerate launch hubkit/train.py` (see --help)."""
    return add_passthrough_verb(subparsers, "train", "fine-tune a masked encoder for NER (in-process; use "
                                "`accelerate launch hubkit/train.py` for several GPUs)", main, "train_args")


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ModelArguments", "DataArguments", "TrainArguments", "parse_args", "parse_dataclass_args", "run", "main",
           "add_cli", "temperature_sample", "drop_sentences_without_entities", "no_entity_warning", "public_name",
           "TrainState", "STATE_FILE", "LANG_COLUMN"]
