"""`hubkit demo` (`make demo`): the whole job once, end to end, on this machine.

1. datasets: `ORG/pakner` from the local corpora, then `ORG/pakner-aug` (cluster report and the
   review sheet for native speakers included), ranked by the demo model of step 2;
2. a model: the flagship `build/models/pakner-e5-small` when it has been trained
   (configs/flagship.yaml), else the demo model: the `tiny` encoder trained here on the four
   languages with the `cpu` grid's settings, its real test F1 per language printed;
3. a Hub: a Hub-compatible server on 127.0.0.1 (hubkit.hub.server), started and stopped here;
   both datasets and the model are published with hubkit.hub.publish and loaded back by repo id in a
   fresh process through HF_ENDPOINT, as a user would from the real Hub;
4. tagged text: one example per language, and the command that opens the Space on the model.

Every stage reuses its output when it is already there, so a second run takes seconds. Nothing is
written outside `--out` (default `build/`) except the usual caches (~/.cache/hubkit for the tiny
model's tokenizer); the server stops when the demo ends, fails or is interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hubkit.hub.server import HubServer
from hubkit.languages import LANGUAGES
from hubkit.options import COUNT, ranged

EXAMPLES = {
    "urdu": "وزیر اعظم عمران خان نے لاہور میں خطاب کیا ۔",
    "shahmukhi": "بلھے شاہ قصور وچ رہندے سن ۔",
    "sindhi": "شاهه عبداللطيف ڀٽائي سنڌ جو وڏو شاعر هو .",
    "pashto": "حامد کرزی د افغانستان ولسمشر و او په کابل کې اوسېده .",
}
FLAGSHIP = "pakner-e5-small"
DEMO_MODEL = "demo"
# The `cpu` grid's settings for the tiny encoder (experiments/cpu.yaml): the defaults of a
# pretrained-model recipe (lr 5e-5) leave a model trained from scratch tagging noise.
DEMO_TRAIN = ["--learning_rate", "2e-3", "--per_device_train_batch_size", "32", "--warmup_ratio", "0.1",
              "--keep_sentences_without_entities", "0.1"]


@dataclass
class DemoOptions:
    data_dir: Path | None
    out: Path = Path("build")
    org: str = "demo"
    epochs: int = 4
    max_steps: int | None = None  # a smoke budget (CI)
    progress: bool = True


def _stage(n: int, title: str) -> None:
    print(f"\n[{n}/4] {title}", flush=True)


def build_datasets(opts: DemoOptions) -> dict:
    from hubkit.data.build import build_pakner

    pakner = opts.out / "pakner"
    if not (pakner / "README.md").is_file():
        build_pakner(opts.data_dir, pakner, org=opts.org, progress=opts.progress)
    return {name: _split_sizes(pakner, name) for name in LANGUAGES}


def _split_sizes(folder: Path, config: str) -> dict:
    import pyarrow.parquet as pq

    sizes: dict[str, int] = {}
    for f in sorted((folder / config).glob("*.parquet")):
        split = f.name.split("-")[0]
        sizes[split] = sizes.get(split, 0) + pq.ParquetFile(f).metadata.num_rows
    return sizes


def train_demo_model(opts: DemoOptions) -> Path:
    """The tiny encoder on the four languages (the ranker of the augmented data, and the demo model)."""
    from hubkit.training.encoder import main as train_main

    folder = opts.out / "models" / DEMO_MODEL
    if (folder / "results.json").is_file():
        return folder
    budget = ["--max_steps", str(opts.max_steps)] if opts.max_steps else ["--num_train_epochs", str(opts.epochs)]
    train_main(["--model_name_or_path", "tiny", "--dataset", str(opts.out / "pakner"), "--languages", "all",
                *DEMO_TRAIN, *budget, "--seed", "1", "--output_dir", str(folder)])
    return folder


def build_augmented(opts: DemoOptions, ranker: Path) -> dict:
    from hubkit.augment.build_aug import build_pakner_aug

    aug = opts.out / "pakner-aug"
    if not (aug / "README.md").is_file():
        build_pakner_aug(opts.out / "pakner", aug, model=str(ranker), org=opts.org,
                         report_dir=opts.out / "clusters", progress=opts.progress)
    return {name: _split_sizes(aug, name) for name in LANGUAGES}


def choose_model(opts: DemoOptions, demo_model: Path) -> Path:
    flagship = opts.out / "models" / FLAGSHIP
    return flagship if (flagship / "results.json").is_file() else demo_model


def test_f1(model: Path) -> dict:
    results = json.loads((model / "results.json").read_text())
    per_lang = results["test"].get("per_language", {})
    return {lang: round(100 * r["overall"]["f1"], 2) for lang, r in per_lang.items()}


def hub_env(hub: HubServer, opts: DemoOptions) -> dict:
    """What a user sets to talk to a self-hosted Hub (fresh processes read it at import)."""
    return {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token, "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0",
            "HF_HOME": str((opts.out / "demo" / "hf-home").resolve()), "HF_HUB_DISABLE_TELEMETRY": "1"}


def _run(argv: list[str], env: dict, what: str, token: str) -> str:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{what} failed: " + tail.replace(token, "***"))
    return proc.stdout


def publish_all(hub: HubServer, opts: DemoOptions, model: Path) -> dict:
    """`hubkit publish` each folder, as a user would."""
    repos = {"pakner": (opts.out / "pakner", "dataset"), "pakner-aug": (opts.out / "pakner-aug", "dataset"),
             model.name: (model, "model")}
    env = hub_env(hub, opts)
    for name, (folder, repo_type) in repos.items():
        _run([sys.executable, "-m", "hubkit.cli", "publish", str(folder), f"{opts.org}/{name}",
              "--repo-type", repo_type], env, f"hubkit publish {folder}", hub.token)
    return {f"{opts.org}/{name}": repo_type for name, (_, repo_type) in repos.items()}


LOAD_BACK = """
import json, sys
import datasets
datasets.config.USE_PARQUET_EXPORT = False  # no dataset-viewer host on a self-hosted Hub
from transformers import pipeline
org, model_repo, text = sys.argv[1], sys.argv[2], sys.argv[3]
aug = datasets.load_dataset(f"{org}/pakner-aug", "shahmukhi")
base = datasets.load_dataset(f"{org}/pakner", "pashto")
ner = pipeline("token-classification", model=f"{org}/{model_repo}", aggregation_strategy="simple")
ents = [{"word": e["word"], "type": e["entity_group"]} for e in ner(text)]
print(json.dumps({"pakner-aug/shahmukhi": {k: len(v) for k, v in aug.items()},
                  "pakner/pashto": {k: len(v) for k, v in base.items()}, "pipeline_entities": ents},
                 ensure_ascii=False))
"""


def load_back(hub: HubServer, opts: DemoOptions, model: Path) -> dict:
    """Load both datasets and the model by repo id in a fresh process, as a user would."""
    out = _run([sys.executable, "-c", LOAD_BACK, opts.org, model.name, EXAMPLES["urdu"]], hub_env(hub, opts),
               "loading back from the local Hub", hub.token)
    return json.loads(out.strip().splitlines()[-1])


def tag_examples(model: Path) -> dict:
    from hubkit.serve.tagger import Tagger

    tagger = Tagger.from_pretrained(str(model))
    found = tagger.tag_batch(list(EXAMPLES.values()))
    return {lang: [{"text": e.text, "type": e.type, "start": e.start, "end": e.end, "score": e.score} for e in ents]
            for lang, ents in zip(EXAMPLES, found)}


def run_demo(opts: DemoOptions) -> dict:
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def timed(name, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        seconds[name] = round(time.perf_counter() - t, 1)
        return value

    _stage(1, "datasets: ORG/pakner from the local corpora, ORG/pakner-aug ranked by the demo model")
    summary: dict = {"datasets": {"pakner": timed("pakner", build_datasets, opts)}}
    demo_model = timed("demo_model", train_demo_model, opts)
    summary["datasets"]["pakner-aug"] = timed("pakner_aug", build_augmented, opts, demo_model)
    _print_sizes(summary["datasets"])
    _stage(2, "model")
    model = choose_model(opts, demo_model)
    summary["model"] = {"folder": str(model), "flagship": model.name == FLAGSHIP, "test_f1": test_f1(model)}
    print(f"  {model} ({'the flagship' if model.name == FLAGSHIP else 'the demo model: tiny, trained here'}); "
          "test F1: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["model"]["test_f1"].items()))
    _stage(3, "a local Hub: publish, then load back by repo id in a fresh process")
    with HubServer(root=opts.out / "demo" / "hub") as hub:
        summary["hub"] = {"endpoint": hub.url, "repos": timed("publish", publish_all, hub, opts, model)}
        summary["hub"]["loaded"] = timed("load_back", load_back, hub, opts, model)
    _print_hub(summary["hub"])
    _stage(4, "tagged text")
    summary["examples"] = timed("tag", tag_examples, model)
    _print_examples(summary["examples"])
    summary["space_command"] = f"PAKNER_MODEL={model} make space"
    summary["seconds"] = {**seconds, "total": round(time.perf_counter() - started, 1)}
    print(f"\nOpen the Space on this model:  {summary['space_command']}   (http://127.0.0.1:7860)")
    print(f"demo finished in {summary['seconds']['total']:.0f} s; summary: {opts.out / 'demo' / 'summary.json'}")
    (opts.out / "demo").mkdir(parents=True, exist_ok=True)
    (opts.out / "demo" / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def _print_sizes(datasets_summary: dict) -> None:
    for repo, configs in datasets_summary.items():
        for config, sizes in configs.items():
            print(f"  {repo:10s} {config:10s} " + "  ".join(f"{s}={n:,}" for s, n in sizes.items()))


def _print_hub(hub: dict) -> None:
    print(f"  server {hub['endpoint']} (stopped): published " + ", ".join(hub["repos"]))
    loaded = hub["loaded"]
    print(f"  load_dataset('…/pakner-aug', 'shahmukhi'): {loaded['pakner-aug/shahmukhi']}")
    print(f"  load_dataset('…/pakner', 'pashto'): {loaded['pakner/pashto']}")
    print(f"  pipeline('token-classification', model=repo id): {loaded['pipeline_entities']}")


def _print_examples(examples: dict) -> None:
    for lang, ents in examples.items():
        shown = "; ".join(f"{e['type']} {e['text']} [{e['start']}:{e['end']}]" for e in ents) or "(no entity)"
        print(f"  {lang:10s} {EXAMPLES[lang]}\n  {'':10s} -> {shown}")


def _cli_demo(args: argparse.Namespace) -> int:
    from hubkit.data.corpora import default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    run_demo(DemoOptions(data_dir=data_dir, out=Path(args.out), org=args.org, epochs=args.epochs,
                         max_steps=args.max_steps, progress=not args.quiet))
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo", help="the whole job end to end: datasets, augmented datasets, a model, a local Hub, tagged text",
        description=__doc__.split("\n\n")[0] + " Stages whose output exists are reused.")
    p.add_argument("--data-dir", default=None, help="the corpora (default: $PAKNER_DATA_DIR; `make demo` passes ../shared/data)")
    p.add_argument("--out", default="build", help="everything is written under this folder (default: build)")
    p.add_argument("--org", default="demo", help="namespace of the repos on the local Hub (default: demo)")
    p.add_argument("--epochs", type=ranged(COUNT), default=4, help="epochs of the demo model (default 4)")
    p.add_argument("--max-steps", type=ranged(COUNT), default=None, help="a smoke budget: optimizer steps of the demo model")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cli_demo)
    return p
