"""Training throughput and peak memory: `hubkit.train` against the plain `transformers.Trainer`.

The alternative a user would pick is the `Trainer` with `DataCollatorForTokenClassification`
(first sub-word labelled, truncation at `--max-length`). Both train the same model on the same
data with the same batch size, epochs, learning rate, seed and threads, each in a fresh process;
words/s counts labelled words over training time only (no evaluation), and both final models
are then scored by the same scorer (`hubkit.evaluation.predict`) on the test split.

    python benchmarks/bench_train.py --dataset build/pakner --language pashto --model e5-small

`--fast-cpu` adds the CPU settings of the `cpu` grid: the Trainer with `bf16=True` (what a user
would turn on first) beside `hubkit.train --mixed_precision bf16 --freeze_word_embeddings`.

`--trimmed` compares, word embeddings trained, same threads and precision: hubkit.train on the
full e5-small vocabulary, on the trimmed one (`e5-small-pakner-vocab`), and the Trainer on the
trimmed model. `--precision` compares `--mixed_precision auto` with `no` (fp32) and `bf16` on
the machine at hand (trimmed model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TRAINER = r"""
import json, resource, sys, time
import torch
from transformers import (AutoModelForTokenClassification, DataCollatorForTokenClassification, Trainer,
                          TrainingArguments)
from hubkit.evaluation.predict import evaluate_model
from hubkit.data.loading import load_ner_data
from hubkit.models.encoders import load_tokenizer, resolve_model

a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
path = resolve_model(a["model"], vocab_dataset=a["dataset"])
tok = load_tokenizer(path)
model = AutoModelForTokenClassification.from_pretrained(path, num_labels=7)
train = load_ner_data(a["dataset"], [a["language"]], splits=["train"])["train"][a["language"]]

def encode(batch):
    enc = tok(batch["tokens"], is_split_into_words=True, truncation=True, max_length=a["max_length"])
    labels = []
    for i, tags in enumerate(batch["ner_tags"]):
        prev, row = None, []
        for w in enc.word_ids(i):
            row.append(-100 if w is None or w == prev else tags[w])
            prev = w
        labels.append(row)
    enc["labels"] = labels
    return enc

ds = train.map(encode, batched=True, remove_columns=train.column_names)
words = sum(sum(1 for l in row if l != -100) for row in ds["labels"]) * a["epochs"]
args = TrainingArguments(output_dir=a["out"], per_device_train_batch_size=a["batch"], num_train_epochs=a["epochs"],
                         learning_rate=a["lr"], seed=a["seed"], report_to="none", save_strategy="no",
                         logging_strategy="no", use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
                         bf16=a["bf16"])
trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=DataCollatorForTokenClassification(tok))
out = trainer.train()
trainer.save_model(a["out"])
tok.save_pretrained(a["out"])
f1 = evaluate_model(a["out"], a["dataset"], [a["language"]], split="test", max_length=a["max_length"])["overall"]["f1"]
print(json.dumps({"words_per_second": words / out.metrics["train_runtime"], "f1": f1,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

HUBKIT = r"""
import json, resource, sys
from hubkit.training.encoder import main
a = json.loads(sys.argv[1])
main(["--model_name_or_path", a["model"], "--dataset", a["dataset"], "--languages", a["language"],
      "--num_train_epochs", str(a["epochs"]), "--per_device_train_batch_size", str(a["batch"]),
      "--learning_rate", str(a["lr"]), "--seed", str(a["seed"]), "--max_length", str(a["max_length"]),
      "--cpu_threads", str(a["threads"]), "--output_dir", a["out"],
      "--mixed_precision", "bf16" if a["bf16"] else a["precision"], *(["--freeze_word_embeddings"] if a["freeze"] else [])])
res = json.load(open(a["out"] + "/results.json"))
print(json.dumps({"words_per_second": res["setup"]["train_words_per_second"], "f1": res["test"]["overall"]["f1"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, params: dict) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run([sys.executable, "-c", code, json.dumps({**params, "out": out})],
                              capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="a folder laid out as ORG/pakner")
    parser.add_argument("--language", default="pashto")
    parser.add_argument("--model", default="e5-small")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fast-cpu", action="store_true", help="also bf16 (both) and frozen word embeddings (hubkit)")
    parser.add_argument("--trimmed", action="store_true", help="full vs trimmed vocabulary, and the Trainer on it")
    parser.add_argument("--precision", action="store_true", help="--mixed_precision auto vs no vs bf16 (trimmed)")
    args = parser.parse_args()
    params = {"dataset": str(Path(args.dataset).resolve()), "language": args.language, "model": args.model,
              "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "max_length": args.max_length,
              "threads": args.threads, "seed": args.seed, "bf16": False, "freeze": False, "precision": "no"}
    if args.trimmed or args.precision:
        return compare(args, params)
    trainer = run(TRAINER, params)
    hubkit = run(HUBKIT, params)
    rows = [("transformers Trainer + DataCollatorForTokenClassification", trainer), ("hubkit.train", hubkit)]
    if args.fast_cpu:
        trainer_bf16 = run(TRAINER, {**params, "bf16": True})
        fast = run(HUBKIT, {**params, "bf16": True, "freeze": True})
        rows += [("Trainer, bf16=True", trainer_bf16),
                 ("hubkit.train --mixed_precision bf16 --freeze_word_embeddings", fast)]
    print(f"model {args.model}, {args.language} train, {args.epochs} epochs, batch {args.batch}, "
          f"{args.threads} thread(s)\n")
    print("| path | words/s | peak RSS (MiB) | test F1 |")
    print("|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['words_per_second']:.1f} | {r['peak_rss_mib']:.0f} | {100 * r['f1']:.2f} |")
    print(f"\nratio hubkit/Trainer: throughput {hubkit['words_per_second'] / trainer['words_per_second']:.2f}x, "
          f"peak memory {hubkit['peak_rss_mib'] / trainer['peak_rss_mib']:.2f}x")
    if args.fast_cpu:
        print(f"ratio hubkit fast-cpu/Trainer bf16: throughput "
              f"{fast['words_per_second'] / trainer_bf16['words_per_second']:.2f}x; "
              f"hubkit fast-cpu/hubkit fp32: {fast['words_per_second'] / hubkit['words_per_second']:.2f}x")


def compare(args, params: dict) -> None:
    from hubkit.experiments.flagship_report import cpu_line

    trimmed = {**params, "model": "e5-small-pakner-vocab"}
    rows = []
    if args.trimmed:
        rows += [("hubkit.train, full vocabulary (250,002), embeddings trained", run(HUBKIT, {**params, "model": "e5-small"})),
                 ("hubkit.train, trimmed vocabulary, embeddings trained", run(HUBKIT, trimmed)),
                 ("transformers Trainer, trimmed vocabulary", run(TRAINER, trimmed))]
    if args.precision:
        rows += [(f"hubkit.train --mixed_precision {p} (trimmed)", run(HUBKIT, {**trimmed, "precision": p}))
                 for p in ("auto", "no", "bf16")]
    print(f"{args.language} train, {args.epochs} epochs, batch {args.batch}, {args.threads} thread(s), fp32 unless "
          f"named; CPU: {cpu_line()}\n")
    print("| path | words/s | peak RSS (MiB) | test F1 |")
    print("|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['words_per_second']:.1f} | {r['peak_rss_mib']:.0f} | {100 * r['f1']:.2f} |")
    first = rows[0][1]["words_per_second"]
    print("\nratios to the first row (throughput): " + ", ".join(
        f"{name.split(', ', 1)[-1]} {r['words_per_second'] / first:.2f}x" for name, r in rows[1:]))


if __name__ == "__main__":
    main()
