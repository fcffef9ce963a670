"""`hubkit <verb>`: one verb per stage; each module registers its own verb with `add_cli`."""

from __future__ import annotations

import argparse
import importlib
import sys

# module -> its verb(s); imported lazily so `hubkit build --help` does not import torch.
VERB_MODULES = {
    "build": "hubkit.build",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="hubkit",
        description="NER for Urdu, Shahmukhi, Sindhi and Pashto: build the Hub datasets, augment, train, "
                    "evaluate, publish and tag. `hubkit VERB --help` explains each verb.")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    wanted = argv[0] if argv and argv[0] in VERB_MODULES else None
    for verb, module in VERB_MODULES.items():
        if wanted is None or verb == wanted:
            importlib.import_module(module).add_cli(subparsers)
        else:  # listed in the top-level help without importing its module
            subparsers.add_parser(verb, help=f"see `hubkit {verb} --help`")
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"hubkit {args.verb}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
