"""Causal-LM NER baselines: LoRA instruction fine-tuning, or zero-/few-shot prompting, scored like the masked models.

    accelerate launch hubkit/train_llm.py --model_name_or_path meta-llama/Meta-Llama-3-8B-Instruct \
        --dataset ORG/pakner --languages pashto --output_dir out/llama3-lora --load_in_4bit
    python -m hubkit.train_llm config.yaml       # the same options from a YAML or JSON file
    python -m hubkit.train_llm --model_name_or_path gemma3-270m --do_train false --num_shots 3 ...

Each sentence becomes a prompt (task, language, the sentence's words) and a target listing its
entities one per line as `TYPE: words` (or `NONE`; see hubkit/llm_prompt.py). Any
`AutoModelForCausalLM` is trained with PEFT LoRA (rank, alpha, dropout and target modules
configurable; 4-bit loading with bitsandbytes on a GPU), the loss on the target tokens only
(labels -100 on the prompt). `--do_train false` scores the model as it is, with `--num_shots k`
examples per language drawn with `--seed` from the training split in every prompt.

Answers are decoded greedily, at most `--max_new_tokens` and a budget set by the sentence's
length, then parsed back onto the words as BIO tags (never crashing on malformed output: every
unusable line is counted) and scored with hubkit.evaluation.metrics, exactly like hubkit/train.py.

Outputs in `--output_dir`: the LoRA adapter (adapter_model.safetensors + adapter_config.json,
no base weights) and tokenizer, `results.json` (the masked trainer's keys, plus `parse`: the
malformed-output counts per split), `all_results.json`, `generations-<split>.jsonl` (every answer
with its tags), and README.md (model card: base model, prompt format, LoRA settings, results).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Optional

from transformers import StoppingCriteria

from hubkit.data.loading import LANG_COLUMN, LANGUAGES, DataError, concat, load_ner_data, normalize_languages
from hubkit.data.labels import LABELS
from hubkit.models.prompt import PromptFormat, format_answer, new_counts, parse_answer
from hubkit.evaluation.metrics import compute_metrics, format_table, save_results
from hubkit.hub.cards import render_llm_card
from hubkit.options import (COUNT, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, PROBABILITY_BELOW_1, SHARE,
                            check_fields)

logger = logging.getLogger("hubkit.training.lora")
EVAL_SPLITS = ("validation", "test")


@dataclass
class LlmModelArguments:
    model_name_or_path: str = field(metadata={"help": "Hub id or folder of a causal LM (e.g. meta-llama/Meta-Llama-3-8B-"
                                                      "Instruct, mistralai/Mistral-7B-Instruct-v0.3), `gemma3-270m` "
                                                      "(offline, from PyPI GGUF) or `tiny-llama` (random, for tests)"})
    cache_dir: Optional[str] = field(default=None, metadata={"help": "where `tiny-llama`/`gemma3-270m` are built"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run code shipped with the model (off by default)"})
    torch_dtype: str = field(default="auto", metadata={"help": "auto (bfloat16 on a GPU that has it, else float32), "
                                                                "float32, bfloat16 or float16"})
    load_in_4bit: bool = field(default=False, metadata={"help": "QLoRA: load the base model in 4-bit NF4 "
                                                                "(needs a CUDA GPU and bitsandbytes)"})
    use_chat_template: Optional[bool] = field(default=None, metadata={"help": "default: when the tokenizer has one"})
    attn_implementation: Optional[str] = field(default=None, metadata={"help": "eager, sdpa, flash_attention_2, ..."})


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


@dataclass
class LlmDataArguments:
    dataset: str = field(metadata={"help": "Hub dataset id or a folder laid out as ORG/pakner"})
    languages: list[str] = field(default_factory=lambda: ["all"],
                                 metadata={"help": "all, or one or more of urdu shahmukhi sindhi pashto (or ur pnb sd ps)"})
    max_train_samples: Optional[int] = field(default=None, metadata={"help": "train on a random subset"})
    max_eval_samples: Optional[int] = field(default=None, metadata={"help": "score the first N sentences per language"})
    num_shots: int = field(default=0, metadata={"help": "examples per language, drawn with --seed from the training "
                                                        "split, put in every prompt (few-shot)"})
    max_seq_length: int = field(default=1024, metadata={"help": "training examples (prompt + answer) longer than this "
                                                                "many tokens are skipped (counted)"})
    eval_splits: list[str] = field(default_factory=lambda: list(EVAL_SPLITS),
                                   metadata={"help": "splits to score: validation and/or test"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "max_train_samples": COUNT,
        "max_eval_samples": COUNT,
        "num_shots": NON_NEGATIVE_INT,
        "max_seq_length": COUNT,
    }


@dataclass
class LlmTrainArguments:
    output_dir: str = field(metadata={"help": "where the adapter, results and card are written"})
    do_train: bool = field(default=True, metadata={"help": "false: zero-/few-shot scoring of the model as it is"})
    num_train_epochs: int = field(default=1)
    max_steps: Optional[int] = field(default=None, metadata={"help": "optimizer steps; overrides num_train_epochs"})
    per_device_train_batch_size: int = field(default=4)
    per_device_eval_batch_size: int = field(default=8)
    gradient_accumulation_steps: int = field(default=1)
    learning_rate: float = field(default=2e-4)
    warmup_ratio: float = field(default=0.03)
    weight_decay: float = field(default=0.0)
    lr_scheduler_type: str = field(default="linear")
    max_grad_norm: float = field(default=1.0)
    gradient_checkpointing: bool = field(default=False)
    logging_steps: int = field(default=10)
    max_new_tokens: int = field(default=256, metadata={"help": "upper bound on answer tokens (each sentence also "
                                                               "gets a budget from its length)"})
    seed: int = field(default=42)
    push_to_hub: bool = field(default=False, metadata={"help": "publish the adapter folder with hubkit.hub.publish"})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "ORG/name of the model repo"})
    license: str = field(default="apache-2.0", metadata={"help": "license for the model card (the base model's "
                                                                  "license also applies)"})

    ranges: ClassVar[dict] = {  # checked by hubkit.options.check_fields
        "num_train_epochs": COUNT,
        "max_steps": COUNT,
        "per_device_train_batch_size": COUNT,
        "per_device_eval_batch_size": COUNT,
        "gradient_accumulation_steps": COUNT,
        "learning_rate": NON_NEGATIVE,
        "warmup_ratio": SHARE,
        "weight_decay": NON_NEGATIVE,
        "max_grad_norm": POSITIVE,
        "logging_steps": COUNT,
        "max_new_tokens": COUNT,
        "seed": NON_NEGATIVE_INT,
    }


ARG_TYPES = (LlmModelArguments, LoraArguments, LlmDataArguments, LlmTrainArguments)


def parse_args(argv: list[str] | None = None):
    """(model_args, lora_args, data_args, train_args) from the command line or one YAML/JSON file."""
    from hubkit.training.encoder import parse_dataclass_args

    return parse_dataclass_args(ARG_TYPES, "hubkit train-llm", __doc__.split("\n\n")[0], argv)


def _check_args(model_args, data_args, train_args, lora_args=None) -> None:
    for args in (model_args, data_args, train_args, lora_args):
        if args is not None:
            check_fields(args)
    if train_args.push_to_hub:
        if not train_args.do_train:
            raise ValueError("--push_to_hub publishes a trained adapter: it needs --do_train true")
        if not train_args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id ORG/name")
        if importlib.util.find_spec("hubkit.hub.publish") is None:
            raise ValueError("--push_to_hub needs hubkit.hub.publish, which is not in this hubkit")
    bad = [s for s in data_args.eval_splits if s not in EVAL_SPLITS]
    if bad or not data_args.eval_splits:
        raise ValueError(f"--eval_splits must be among {', '.join(EVAL_SPLITS)}, not {bad or 'nothing'}")
    if data_args.num_shots < 0 or train_args.max_new_tokens < 4:
        raise ValueError("--num_shots must be >= 0 and --max_new_tokens >= 4")
    if train_args.per_device_train_batch_size < 1 or train_args.gradient_accumulation_steps < 1:
        raise ValueError("batch size and gradient accumulation steps must be at least 1")
    if model_args.torch_dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ValueError(f"--torch_dtype must be auto, float32, bfloat16 or float16, not {model_args.torch_dtype!r}")
    if model_args.load_in_4bit:
        import torch

        if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
            raise ValueError("--load_in_4bit needs a CUDA GPU and the bitsandbytes package (pip install bitsandbytes)")


def _dtype(name: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    return getattr(torch, name)


def load_causal_lm(name_or_path: str, model_args: LlmModelArguments, device_index: int = 0):
    """(model, tokenizer) of a causal LM; ValueError when the folder/id is not one."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=model_args.trust_remote_code)
    except (OSError, ValueError) as err:
        raise ValueError(f"{name_or_path}: cannot read a model config ({err})") from err
    archs = list(getattr(config, "architectures", None) or [])
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or any(a.endswith("ForTokenClassification")
                                                                         for a in archs):
        raise ValueError(f"{name_or_path}: model type {config.model_type!r} ({', '.join(archs) or 'no architecture'}) "
                         "is not a causal LM; masked encoders are trained with hubkit/train.py")
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=model_args.trust_remote_code)
    kwargs = {"dtype": _dtype(model_args.torch_dtype), "trust_remote_code": model_args.trust_remote_code}
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"])
        kwargs["device_map"] = {"": device_index}
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    return model, tokenizer


def draw_shots(train_parts: dict, k: int, seed: int) -> dict[str, list[tuple[list[str], str]]]:
    """{language: k (words, answer) examples} drawn with `seed` from that language's training split."""
    shots = {}
    for lang, ds in train_parts.items():
        idx = random.Random(f"{seed}-{lang}").sample(range(len(ds)), min(k, len(ds)))
        shots[lang] = [(list(ds[i]["tokens"]), format_answer(ds[i]["tokens"], [LABELS[t] for t in ds[i]["ner_tags"]]))
                       for i in idx]
    return shots


def encode_train(ds, fmt: PromptFormat, shots: dict, max_seq_length: int) -> tuple[list[dict], int]:
    """Tokenized examples with labels -100 on the prompt; returns (examples, number skipped as too long)."""
    from tqdm.auto import tqdm

    examples, skipped = [], 0
    for row in tqdm(ds, desc="tokenizing train", leave=False):
        tokens, lang = list(row["tokens"]), row[LANG_COLUMN]
        prompt = fmt.prompt_ids(tokens, lang, shots.get(lang, ()))
        target = fmt.target_ids(format_answer(tokens, [LABELS[t] for t in row["ner_tags"]]))
        if len(prompt) + len(target) > max_seq_length:
            skipped += 1
            continue
        examples.append({"input_ids": prompt + target, "labels": [-100] * len(prompt) + target})
    return examples, skipped


def _collate(pad_id: int):
    import torch

    def collate(batch: list[dict]) -> dict:
        n = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), n), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, b in enumerate(batch):  # right padding for training
            k = len(b["input_ids"])
            ids[i, :k] = torch.tensor(b["input_ids"])
            labels[i, :k] = torch.tensor(b["labels"])
            mask[i, :k] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


def answer_loss(model, batch: dict, use_logits_to_keep: bool = True):
    """Mean cross-entropy over the answer tokens (labels != -100), the model's own loss.

    The output layer runs only on the positions from the batch's first answer token on
    (`logits_to_keep`): prompts are most of every sequence, and for a 262k vocabulary (Gemma) the
    output layer is most of the model's compute.
    """
    import torch.nn.functional as F

    if not use_logits_to_keep:
        return model(**batch).loss
    labels = batch["labels"]
    first = int((labels != -100).int().argmax(dim=1).min())
    keep = labels.shape[1] - first + 1  # positions first-1 .. end predict tokens first .. end
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep).logits
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, first:].reshape(-1),
                           ignore_index=-100)


def generate_answers(model, tokenizer, fmt: PromptFormat, rows: list[dict], shots: dict, batch_size: int,
                     max_new_tokens: int, device, desc: str = "generating") -> list[dict]:
    """Greedy answers for rows of {tokens, lang}: [{answer, truncated, new_tokens}] in the same order."""
    import torch
    from tqdm.auto import tqdm
    from transformers import StoppingCriteriaList

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else fmt.stop_ids[0]
    prompts = [fmt.prompt_ids(r["tokens"], r["lang"], shots.get(r["lang"], ())) for r in rows]
    budgets = [fmt.answer_budget(r["tokens"], max_new_tokens) for r in rows]
    order = sorted(range(len(rows)), key=lambda i: -len(prompts[i]))  # similar lengths batch together
    out: list[dict | None] = [None] * len(rows)
    model.eval()
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False):
        idx = order[start:start + batch_size]
        n = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), n), dtype=torch.long)
        for row, i in enumerate(idx):  # left padding: every answer starts at column n
            ids[row, n - len(prompts[i]):] = torch.tensor(prompts[i])
            mask[row, n - len(prompts[i]):] = 1
        stopper = StoppingCriteriaList([_AnswerStop(tokenizer, n, [budgets[i] for i in idx])])
        with torch.no_grad():
            gen = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=False,
                                 max_new_tokens=max(budgets[i] for i in idx), eos_token_id=fmt.stop_ids,
                                 pad_token_id=pad_id, stopping_criteria=stopper)
        for row, i in enumerate(idx):
            new = gen[row, n:].tolist()[: budgets[i]]  # each sentence keeps only its own budget
            end = next((k for k, t in enumerate(new) if t in fmt.stop_ids or t == pad_id), len(new))
            text = tokenizer.decode(new[:end], skip_special_tokens=True)
            ended = (end < len(new) and new[end] in fmt.stop_ids) or "\n\n" in text
            out[i] = {"answer": text, "truncated": not ended, "new_tokens": end}
    return out


class _AnswerStop(StoppingCriteria):
    """Per row: stop at a blank line (the answer format never has one; base models go on with the
    next example) or at the row's own token budget. Cheaper than `stop_strings`, which preprocesses
    the whole vocabulary (minutes for Gemma's 262k tokens on a CPU)."""

    def __init__(self, tokenizer, prompt_len: int, budgets: list[int]):
        self.tokenizer, self.prompt_len, self.budgets = tokenizer, prompt_len, budgets

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        new = input_ids[:, self.prompt_len:]
        done = [new.shape[1] >= budget or "\n\n" in self.tokenizer.decode(new[row, -4:], skip_special_tokens=True)
                for row, budget in enumerate(self.budgets)]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def evaluate_split(model, tokenizer, fmt, ds, shots, batch_size, max_new_tokens, accelerator, desc) -> tuple:
    """(metrics, parse counts, per-sentence records) for one split, generation shared across processes."""
    from accelerate.utils import gather_object

    rows = [{"tokens": list(t), "lang": l} for t, l in zip(ds["tokens"], ds[LANG_COLUMN])]
    with accelerator.split_between_processes(list(range(len(rows)))) as part:
        answers = generate_answers(accelerator.unwrap_model(model), tokenizer, fmt, [rows[i] for i in part], shots,
                                   batch_size, max_new_tokens, accelerator.device, desc)
        mine = list(zip(part, answers))
    merged = dict(gather_object(mine)) if accelerator.num_processes > 1 else dict(mine)
    counts, gold, pred, records = new_counts(), [], [], []
    for i, (row, tag_ids) in enumerate(zip(rows, ds["ner_tags"])):
        ans = merged[i]
        parsed = parse_answer(ans["answer"], row["tokens"], truncated=ans["truncated"])
        counts.update(parsed.counts)
        gold.append([LABELS[t] for t in tag_ids])
        pred.append(parsed.tags)
        records.append({"lang": row["lang"], "tokens": row["tokens"], "gold": gold[-1], "pred": parsed.tags,
                        "answer": ans["answer"], "truncated": ans["truncated"], "new_tokens": ans["new_tokens"],
                        "parse": {k: v for k, v in parsed.counts.items() if v and k != "generations"}})
    metrics = compute_metrics(gold, pred, languages=[r["lang"] for r in rows])
    return metrics, dict(counts), records


def run(model_args: LlmModelArguments, lora_args: LoraArguments, data_args: LlmDataArguments,
        train_args: LlmTrainArguments) -> dict:
    """Train (or not), generate, parse, score, write the folder; returns the results dict."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_scheduler
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from hubkit.models.causal import resolve_causal_model

    _check_args(model_args, data_args, train_args, lora_args)
    output_dir = Path(train_args.output_dir)
    accelerator = Accelerator(gradient_accumulation_steps=train_args.gradient_accumulation_steps)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if not accelerator.is_local_main_process:
        logger.setLevel(logging.WARNING)
    set_seed(train_args.seed)

    # 1. Data.
    languages = normalize_languages(data_args.languages)
    need_train = train_args.do_train or data_args.num_shots > 0
    splits = (["train"] if need_train else []) + list(data_args.eval_splits)
    data = load_ner_data(data_args.dataset, languages, splits=splits)
    for split in data_args.eval_splits:
        if data_args.max_eval_samples:
            data[split] = {l: ds.select(range(min(len(ds), data_args.max_eval_samples))) for l, ds in data[split].items()}
    shots = draw_shots(data["train"], data_args.num_shots, train_args.seed) if data_args.num_shots else {}
    train_ds = None
    if train_args.do_train:
        train_ds = concat(data["train"])
        if data_args.max_train_samples:
            n = min(data_args.max_train_samples, len(train_ds))
            train_ds = train_ds.shuffle(seed=train_args.seed).select(range(n))

    # 2. Model (`tiny-llama` learns its tokenizer from the training sentences; built once, by rank 0).
    with accelerator.main_process_first():
        sentences = [" ".join(t) for t in train_ds["tokens"]] if train_ds is not None else []
        name = resolve_causal_model(model_args.model_name_or_path, cache_dir=model_args.cache_dir,
                                    sentences=sentences, seed=train_args.seed)
    model, tokenizer = load_causal_lm(name, model_args, accelerator.local_process_index)
    fmt = PromptFormat(tokenizer, model_args.use_chat_template)
    total_params = sum(p.numel() for p in model.parameters())
    setup = {
        "base_model": model_args.model_name_or_path, "dataset": data_args.dataset, "languages": languages,
        "mode": "lora" if train_args.do_train else ("few-shot" if data_args.num_shots else "zero-shot"),
        "num_shots": data_args.num_shots, "prompt": fmt.describe(), "max_new_tokens": train_args.max_new_tokens,
        "decoding": "greedy", "seed": train_args.seed, "torch_dtype": str(_dtype(model_args.torch_dtype)),
        "load_in_4bit": model_args.load_in_4bit, "device": str(accelerator.device),
        "num_processes": accelerator.num_processes, "base_parameters": total_params, "license": train_args.license,
    }
    history, train_log = [], []

    # 3. LoRA training.
    if train_args.do_train:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        examples, skipped = encode_train(train_ds, fmt, shots, data_args.max_seq_length)
        if not examples:
            raise DataError(f"no training example fits --max_seq_length {data_args.max_seq_length}")
        if model_args.load_in_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=train_args.gradient_checkpointing)
        elif train_args.gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
        targets = lora_args.lora_target_modules
        lora_config = LoraConfig(r=lora_args.lora_r, lora_alpha=lora_args.lora_alpha, lora_dropout=lora_args.lora_dropout,
                                 target_modules="all-linear" if targets == ["all-linear"] else list(targets),
                                 task_type="CAUSAL_LM")
        model = get_peft_model(model, lora_config)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else fmt.stop_ids[0]
        # Batches of similar lengths (transformers' sampler): one long sentence pads no batch but its own.
        sampler = LengthGroupedSampler(train_args.per_device_train_batch_size * accelerator.num_processes,
                                       lengths=[len(e["input_ids"]) for e in examples],
                                       generator=torch.Generator().manual_seed(train_args.seed))
        loader = DataLoader(examples, batch_size=train_args.per_device_train_batch_size, sampler=sampler,
                            collate_fn=_collate(pad_id))
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=train_args.learning_rate,
                                      weight_decay=train_args.weight_decay)
        ga = train_args.gradient_accumulation_steps
        steps_per_epoch = math.ceil(len(loader) / accelerator.num_processes / ga)
        total_steps = train_args.max_steps or train_args.num_train_epochs * steps_per_epoch
        num_epochs = math.ceil(total_steps / steps_per_epoch)
        scheduler = get_scheduler(train_args.lr_scheduler_type, optimizer,
                                  num_warmup_steps=math.ceil(train_args.warmup_ratio * total_steps) * accelerator.num_processes,
                                  num_training_steps=total_steps * accelerator.num_processes)
        model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
        use_keep = "logits_to_keep" in inspect.signature(
            type(accelerator.unwrap_model(model).get_base_model()).forward).parameters
        logger.info("LoRA r=%d on %s: %d trainable of %d parameters; %d examples (%d skipped as too long), %d steps",
                    lora_args.lora_r, targets, trainable, total_params, len(examples), skipped, total_steps)
        progress = tqdm(total=total_steps, desc="training", disable=not accelerator.is_local_main_process)
        step, tick, target_tokens = 0, time.perf_counter(), 0
        window: list[float] = []
        model.train()
        for epoch in range(num_epochs):
            epoch_losses: list[float] = []
            for batch in loader:
                with accelerator.accumulate(model):
                    loss = answer_loss(model, batch, use_keep)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and train_args.max_grad_norm:
                        accelerator.clip_grad_norm_(model.parameters(), train_args.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                window.append(loss.item())
                target_tokens += int((batch["labels"] != -100).sum())
                if not accelerator.sync_gradients:
                    continue
                step += 1
                step_loss = sum(window) / len(window)
                window = []
                epoch_losses.append(step_loss)
                train_log.append({"step": step, "loss": step_loss, "learning_rate": scheduler.get_last_lr()[0]})
                progress.update(1)
                progress.set_postfix(loss=f"{step_loss:.4f}")
                if train_args.logging_steps and step % train_args.logging_steps == 0:
                    logger.info("step %d: loss %.4f", step, step_loss)
                if step >= total_steps:
                    break
            history.append({"epoch": epoch, "step": step, "train_loss": sum(epoch_losses) / max(1, len(epoch_losses))})
            if step >= total_steps:
                break
        progress.close()
        train_seconds = time.perf_counter() - tick
        setup.update({
            "lora": {"r": lora_args.lora_r, "alpha": lora_args.lora_alpha, "dropout": lora_args.lora_dropout,
                     "target_modules": targets, "trainable_parameters": trainable},
            "train_sentences": len(train_ds), "train_examples": len(examples), "skipped_too_long": skipped,
            "max_seq_length": data_args.max_seq_length, "num_train_epochs": num_epochs, "optimizer_steps": step,
            "per_device_train_batch_size": train_args.per_device_train_batch_size, "gradient_accumulation_steps": ga,
            "learning_rate": train_args.learning_rate, "lr_scheduler_type": train_args.lr_scheduler_type,
            "warmup_ratio": train_args.warmup_ratio, "weight_decay": train_args.weight_decay,
            "gradient_checkpointing": train_args.gradient_checkpointing, "train_seconds": train_seconds,
            "train_target_tokens_per_second": target_tokens / train_seconds if train_seconds else 0.0,
        })
    elif not model_args.load_in_4bit:  # a 4-bit model is placed on its GPU when loaded
        model = model.to(accelerator.device)

    # 4. Generate, parse, score.
    results = {"model": train_args.hub_model_id or output_dir.name, "setup": setup, "history": history}
    parse_counts, all_records = {}, {}
    for split in data_args.eval_splits:
        tick = time.perf_counter()
        metrics, counts, records = evaluate_split(model, tokenizer, fmt, concat(data[split]), shots,
                                                  train_args.per_device_eval_batch_size, train_args.max_new_tokens,
                                                  accelerator, desc=f"generating {split}")
        seconds = time.perf_counter() - tick
        metrics["generation_seconds"] = seconds
        metrics["generated_tokens"] = sum(r["new_tokens"] for r in records)
        results[split] = metrics
        parse_counts[split] = counts
        all_records[split] = records
        logger.info("%s: F1 %.4f in %.0f s; parse counts %s", split, metrics["overall"]["f1"], seconds,
                    {k: v for k, v in counts.items() if v})
    results["parse"] = parse_counts
    results["train_log"] = train_log

    # 5. Write the folder: adapter only (peft saves the LoRA weights, never the base model).
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        if train_args.do_train:
            accelerator.unwrap_model(model).save_pretrained(output_dir, safe_serialization=True)
            tokenizer.save_pretrained(output_dir)
            _point_adapter_at_hub_base(output_dir, model_args.model_name_or_path)
        save_results(output_dir / "results.json", **results)
        for split, records in all_records.items():
            with (output_dir / f"generations-{split}.jsonl").open("w", encoding="utf-8") as f:
                for rec in records:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        flat = {"train_loss": history[-1]["train_loss"] if history else None,
                "optimizer_steps": setup.get("optimizer_steps", 0)}
        for split in data_args.eval_splits:
            key = "eval" if split == "validation" else split
            for m in ("precision", "recall", "f1"):
                flat[f"{key}_{m}"] = results[split]["overall"][m]
            for lang, sub in results[split].get("per_language", {}).items():
                flat[f"{key}_{lang}_f1"] = sub["overall"]["f1"]
        (output_dir / "all_results.json").write_text(json.dumps(flat, indent=2) + "\n")
        write_llm_card(output_dir, results)
        split = "test" if "test" in results else data_args.eval_splits[0]
        print(format_table(results[split], title=f"{split} ({', '.join(languages)}), {setup['mode']}"))
        print("parse counts:", {k: v for k, v in parse_counts[split].items() if v})
    accelerator.wait_for_everyone()
    if train_args.push_to_hub and accelerator.is_main_process:
        from hubkit.hub.publish import publish

        publish(output_dir, train_args.hub_model_id, repo_type="model")
    return results


def _point_adapter_at_hub_base(folder: Path, name: str) -> None:
    """An adapter of a locally built base (`gemma3-270m`) names the Hub model it stands for, not a cache path."""
    from hubkit.models.causal import HUB_EQUIVALENT

    path = folder / "adapter_config.json"
    if name in HUB_EQUIVALENT and path.is_file():
        config = json.loads(path.read_text())
        config["base_model_name_or_path"] = HUB_EQUIVALENT[name]
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_llm_card(folder: str | Path, results: dict) -> Path:
    from hubkit.hub.cards import write_model_card

    return write_model_card(folder, results, render=render_llm_card)


def main(argv: list[str] | None = None) -> int:
    model_args, lora_args, data_args, train_args = parse_args(argv)
    try:
        run(model_args, lora_args, data_args, train_args)
    except (DataError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    return 0


def _cli_train_llm(args: argparse.Namespace) -> int:
    return main(args.train_llm_args)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit train-llm`: the same options as `accelerate launch hubkit/train_llm.py` (see --help)."""
    p = subparsers.add_parser("train-llm", help="LoRA fine-tuning or few-shot scoring of a causal LM for NER "
                                                "(in-process; use `accelerate launch hubkit/train_llm.py` for GPUs)",
                              add_help=False, prefix_chars="\0")  # every argument goes to the train-llm parser
    p.add_argument("train_llm_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cli_train_llm)
    return p


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["LlmModelArguments", "LoraArguments", "LlmDataArguments", "LlmTrainArguments", "parse_args", "run", "main",
           "add_cli", "load_causal_lm", "draw_shots", "encode_train", "generate_answers", "evaluate_split",
           "render_llm_card", "write_llm_card", "LANGUAGES"]
