"""`accelerate launch hubkit/train_llm.py ...` and `python -m hubkit.train_llm ...`: the causal-LM trainer (LoRA or few-shot),
hubkit.training.lora, under the name the README and the grids use."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script path: the repo root, not hubkit/, must lead sys.path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from hubkit.training.lora import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
