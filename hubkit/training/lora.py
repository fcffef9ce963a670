"""Causal-LM NER baselines: LoRA instruction fine-tuning, or zero-/few-shot prompting, scored like the masked models.

    accelerate launch hubkit/train_llm.py --model_name_or_path meta-llama/Meta-Llama-3-8B-Instruct \
        --dataset ORG/pakner --languages pashto --output_dir out/llama3-lora --load_in_4bit
    python -m hubkit.train_llm config.yaml       # the same options from a YAML or JSON file
    python -m hubkit.train_llm --model_name_or_path gemma3-270m --do_train false --num_shots 3 ...

Each sentence becomes a prompt (task, language, the sentence's words) and a target listing its
entities one per line as `TYPE: words` (or `NONE`; see hubkit/models/prompt.py). Any
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
import functools
import importlib.util
import inspect
import json
import logging
import random
import sys
import time
from pathlib import Path

from transformers import StoppingCriteria

from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data, normalize_languages
from hubkit.data.labels import LABELS
from hubkit.errors import DataError
from hubkit.models.prompt import PromptFormat, format_answer, new_counts, parse_answer
from hubkit.evaluation.metrics import compute_metrics, format_table
from hubkit.hub.cards import render_llm_card
from hubkit.options import check_fields
from hubkit.training.arguments import (EVAL_SPLITS, LlmDataArguments, LlmModelArguments, LlmTrainArguments,
                                       LoraArguments, parse_dataclass_args, recorded_options)
from hubkit.training.loop import Plugin, TrainLoop, start_accelerator
from hubkit.training.command import add_passthrough_verb, run_command
from hubkit.training.outputs import check_push, flat_results, public_name, publish_when_asked, write_results

logger = logging.getLogger("hubkit.training.lora")

ARG_TYPES = (LlmModelArguments, LoraArguments, LlmDataArguments, LlmTrainArguments)


def parse_args(argv: list[str] | None = None):
    """(model_args, lora_args, data_args, train_args) from the command line or one YAML/JSON file."""
    return parse_dataclass_args(ARG_TYPES, "hubkit train-llm", __doc__.split("\n\n")[0], argv)


def _check_args(model_args, data_args, train_args, lora_args=None) -> None:
    for args in (model_args, data_args, train_args, lora_args):
        if args is not None:
            check_fields(args)
    if train_args.push_to_hub and not train_args.do_train:
        raise ValueError("--push_to_hub publishes a trained adapter: it needs --do_train true")
    check_push(train_args)
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


class _StepLog(Plugin):
    """The per-step loss and learning rate (results.json's `train_log`, the log every `logging_steps`), and
    each epoch's mean step loss in the history."""

    def __init__(self, logging_steps: int):
        self.logging_steps, self.entries, self.epoch_losses = logging_steps, [], []

    def on_step(self, loop) -> None:
        step = loop.state.completed_steps
        self.epoch_losses.append(loop.step_loss)
        self.entries.append({"step": step, "loss": loop.step_loss, "learning_rate": loop.scheduler.get_last_lr()[0]})
        if self.logging_steps and step % self.logging_steps == 0:
            logger.info("step %d: loss %.4f", step, loop.step_loss)

    def on_epoch_end(self, loop, epoch: int, train_loss: float) -> bool:
        loop.state.history.append({"epoch": epoch, "step": loop.state.completed_steps,
                                   "train_loss": sum(self.epoch_losses) / max(1, len(self.epoch_losses))})
        self.epoch_losses = []
        return False


class _LoraRun:
    """One `hubkit train-llm` run; `run()` calls its stages in order, which share what they made as attributes."""

    def __init__(self, model_args: LlmModelArguments, lora_args: LoraArguments, data_args: LlmDataArguments,
                 train_args: LlmTrainArguments):
        _check_args(model_args, data_args, train_args, lora_args)
        self.model_args, self.lora_args, self.data_args, self.train_args = model_args, lora_args, data_args, train_args
        self.output_dir = Path(train_args.output_dir)
        self.accelerator = start_accelerator(train_args.seed)
        self.languages = normalize_languages(data_args.languages)
        self.history, self.train_log = [], []

    def load_data(self) -> None:
        """The splits to score, the training split when training or drawing shots, the shots."""
        args = self.data_args
        need_train = self.train_args.do_train or args.num_shots > 0
        splits = (["train"] if need_train else []) + list(args.eval_splits)
        data = load_ner_data(args.dataset, self.languages, splits=splits)
        for split in args.eval_splits:
            if args.max_eval_samples:
                data[split] = {l: ds.select(range(min(len(ds), args.max_eval_samples))) for l, ds in data[split].items()}
        self.data = data
        self.shots = draw_shots(data["train"], args.num_shots, self.train_args.seed) if args.num_shots else {}
        self.train_ds = None
        if self.train_args.do_train:
            self.train_ds = concat(data["train"])
            if args.max_train_samples:
                n = min(args.max_train_samples, len(self.train_ds))
                self.train_ds = self.train_ds.shuffle(seed=self.train_args.seed).select(range(n))

    def load_model(self) -> None:
        """The model (`tiny-llama` learns its tokenizer from the training sentences; built once, by rank 0)."""
        from hubkit.models.causal import resolve_causal_model

        args, acc = self.model_args, self.accelerator
        with acc.main_process_first():
            sentences = [" ".join(t) for t in self.train_ds["tokens"]] if self.train_ds is not None else []
            name = resolve_causal_model(args.model_name_or_path, cache_dir=args.cache_dir, sentences=sentences,
                                        seed=self.train_args.seed)
        self.model, self.tokenizer = load_causal_lm(name, args, acc.local_process_index)
        self.fmt = PromptFormat(self.tokenizer, args.use_chat_template)
        self.setup = {
            "base_model": public_name(args.model_name_or_path), "dataset": public_name(self.data_args.dataset),
            "languages": self.languages,
            "mode": "lora" if self.train_args.do_train else ("few-shot" if self.data_args.num_shots else "zero-shot"),
            **recorded_options(args, self.lora_args, self.data_args, self.train_args, training=False),
            "prompt": self.fmt.describe(), "decoding": "greedy", "torch_dtype": str(_dtype(args.torch_dtype)),
            "device": str(acc.device), "num_processes": acc.num_processes,
            "base_parameters": sum(p.numel() for p in self.model.parameters()),
        }

    def train(self) -> None:
        """LoRA on the model, trained on the answer tokens; the model as it is moved to its device otherwise."""
        if not self.train_args.do_train:
            if not self.model_args.load_in_4bit:  # a 4-bit model is placed on its GPU when loaded
                self.model = self.model.to(self.accelerator.device)
            return
        examples, skipped = encode_train(self.train_ds, self.fmt, self.shots, self.data_args.max_seq_length)
        if not examples:
            raise DataError(f"no training example fits --max_seq_length {self.data_args.max_seq_length}")
        model, trainable = self._with_adapter()
        loop, log = self._loop(model, examples), _StepLog(self.train_args.logging_steps)
        loop.plugins = [log]
        logger.info("LoRA r=%d on %s: %d trainable of %d parameters; %d examples (%d skipped as too long), %d steps",
                    self.lora_args.lora_r, self.lora_args.lora_target_modules, trainable, self.setup["base_parameters"],
                    len(examples), skipped, loop.total_steps)
        state = loop.fit()
        self.model, self.history, self.train_log = loop.model, state.history, log.entries
        lora = self.lora_args
        self.setup.update({
            "lora": {"r": lora.lora_r, "alpha": lora.lora_alpha, "dropout": lora.lora_dropout,
                     "target_modules": lora.lora_target_modules, "trainable_parameters": trainable},
            "train_sentences": len(self.train_ds), "train_examples": len(examples), "skipped_too_long": skipped,
            **recorded_options(self.model_args, lora, self.data_args, self.train_args),
            "num_train_epochs": loop.num_epochs, "optimizer_steps": state.completed_steps,
            "train_seconds": state.train_seconds,
            "train_target_tokens_per_second": state.train_words / state.train_seconds if state.train_seconds else 0.0,
        })

    def _with_adapter(self):
        """(the PEFT model, its trainable parameter count)."""
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        model, args, targets = self.model, self.train_args, self.lora_args.lora_target_modules
        if self.model_args.load_in_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=args.gradient_checkpointing)
        elif args.gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
        config = LoraConfig(r=self.lora_args.lora_r, lora_alpha=self.lora_args.lora_alpha,
                            lora_dropout=self.lora_args.lora_dropout, task_type="CAUSAL_LM",
                            target_modules="all-linear" if targets == ["all-linear"] else list(targets))
        model = get_peft_model(model, config)
        return model, sum(p.numel() for p in model.parameters() if p.requires_grad)

    def _loop(self, model, examples: list[dict]) -> TrainLoop:
        import torch
        from torch.utils.data import DataLoader
        from transformers.trainer_pt_utils import LengthGroupedSampler

        args, acc = self.train_args, self.accelerator
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.fmt.stop_ids[0]
        # Batches of similar lengths (transformers' sampler): one long sentence pads no batch but its own.
        sampler = LengthGroupedSampler(args.per_device_train_batch_size * acc.num_processes,
                                       lengths=[len(e["input_ids"]) for e in examples],
                                       generator=torch.Generator().manual_seed(args.seed))
        loader = DataLoader(examples, batch_size=args.per_device_train_batch_size, sampler=sampler,
                            collate_fn=_collate(pad_id))
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate,
                                      weight_decay=args.weight_decay)
        use_keep = "logits_to_keep" in inspect.signature(type(model.get_base_model()).forward).parameters
        return TrainLoop(acc, model, optimizer, loader, args, functools.partial(answer_loss, use_logits_to_keep=use_keep))

    def score(self) -> dict:
        """Generate, parse and score each split: results.json (answers kept for the generations files)."""
        results = {"model": self.train_args.hub_model_id or self.output_dir.name, "setup": self.setup,
                   "history": self.history}
        parse_counts, self.records = {}, {}
        for split in self.data_args.eval_splits:
            tick = time.perf_counter()
            metrics, counts, records = evaluate_split(self.model, self.tokenizer, self.fmt, concat(self.data[split]),
                                                      self.shots, self.train_args.per_device_eval_batch_size,
                                                      self.train_args.max_new_tokens, self.accelerator,
                                                      desc=f"generating {split}")
            seconds = time.perf_counter() - tick
            metrics["generation_seconds"] = seconds
            metrics["generated_tokens"] = sum(r["new_tokens"] for r in records)
            results[split], parse_counts[split], self.records[split] = metrics, counts, records
            logger.info("%s: F1 %.4f in %.0f s; parse counts %s", split, metrics["overall"]["f1"], seconds,
                        {k: v for k, v in counts.items() if v})
        results["parse"] = parse_counts
        results["train_log"] = self.train_log
        return results

    def write_outputs(self, results: dict) -> None:
        """The folder: adapter only (peft saves the LoRA weights, never the base model), results, answers, card."""
        out, history = self.output_dir, self.history
        if self.accelerator.is_main_process:
            out.mkdir(parents=True, exist_ok=True)
            if self.train_args.do_train:
                self.accelerator.unwrap_model(self.model).save_pretrained(out, safe_serialization=True)
                self.tokenizer.save_pretrained(out)
                _point_adapter_at_hub_base(out, self.model_args.model_name_or_path)
            write_results(out, results, flat_results(
                results, self.data_args.eval_splits, train_loss=history[-1]["train_loss"] if history else None,
                optimizer_steps=self.setup.get("optimizer_steps", 0)))
            for split, records in self.records.items():
                with (out / f"generations-{split}.jsonl").open("w", encoding="utf-8") as f:
                    for rec in records:
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            write_llm_card(out, results)
            split = "test" if "test" in results else self.data_args.eval_splits[0]
            print(format_table(results[split], title=f"{split} ({', '.join(self.languages)}), {self.setup['mode']}"))
            print("parse counts:", {k: v for k, v in results["parse"][split].items() if v})
        publish_when_asked(self.accelerator, self.train_args, out)


def run(model_args: LlmModelArguments, lora_args: LoraArguments, data_args: LlmDataArguments,
        train_args: LlmTrainArguments) -> dict:
    """Train (or not), generate, parse, score, write the folder; returns the results dict."""
    stages = _LoraRun(model_args, lora_args, data_args, train_args)
    stages.load_data()
    stages.load_model()
    stages.train()
    results = stages.score()
    stages.write_outputs(results)
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
    return run_command(parse_args, run, argv)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit train-llm`: the same options as `accelerate launch hubkit/train_llm.py` (see --help)."""
    return add_passthrough_verb(subparsers, "train-llm", "LoRA fine-tuning or few-shot scoring of a causal LM for "
                                "NER (in-process; use `accelerate launch hubkit/train_llm.py` for GPUs)", main,
                                "train_llm_args")


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["LlmModelArguments", "LoraArguments", "LlmDataArguments", "LlmTrainArguments", "parse_args", "run", "main",
           "add_cli", "load_causal_lm", "draw_shots", "encode_train", "generate_answers", "evaluate_split",
           "render_llm_card", "write_llm_card"]
