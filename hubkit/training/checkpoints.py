"""Checkpoints of a training run, and resuming from one.

`accelerator.save_state` holds the model, optimizer, scheduler and RNG states; hubkit adds the loop
position and bookkeeping as JSON (STATE_FILE) and hard links to the best weights so far, so that
`--resume_from_checkpoint` continues from the same step with the same results. Resuming checks the
folder first and refuses what loading could turn into running code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from hubkit.training.loop import Plugin

logger = logging.getLogger("hubkit.training.checkpoints")

STATE_FILE = "train_state.json"
CHECKPOINT_FILES = ("model.safetensors", "optimizer.bin", STATE_FILE)


class Checkpoints(Plugin):
    """Saves state every N optimizer steps (`every` a number) or after each epoch (`every` = "epoch"),
    under OUTPUT_DIR/checkpoints/step_N or epoch_N, with the best weights in `best_dir` linked in."""

    def __init__(self, accelerator, output_dir: Path, every: str | None, best_dir: Path):
        self.accelerator, self.output_dir, self.best_dir = accelerator, Path(output_dir), Path(best_dir)
        self.every_steps = int(every) if str(every).isdigit() else None
        self.each_epoch = every == "epoch"

    def on_step(self, loop) -> None:
        if self.every_steps and loop.state.completed_steps % self.every_steps == 0:
            self.save(f"step_{loop.state.completed_steps}", loop.state)

    def on_epoch_end(self, loop, epoch: int, train_loss: float) -> bool:
        if self.each_epoch:
            self.save(f"epoch_{epoch}", loop.state)
        return False

    def save(self, tag: str, state) -> None:
        folder = self.output_dir / "checkpoints" / tag
        self.accelerator.save_state(str(folder))
        if self.accelerator.is_main_process:
            (folder / STATE_FILE).write_text(json.dumps(state.state_dict()), encoding="utf-8")
            if self.best_dir.is_dir():  # the best weights so far travel with it
                link_tree(self.best_dir, folder / "best_model")

    def resume(self, ckpt: str, state) -> int:
        """Load checkpoint `ckpt` (a folder, or `latest`) into the prepared objects and `state`, put its best
        weights back in `best_dir`; returns the optimizer step it continues from."""
        import torch

        if ckpt == "latest":
            found = checkpoint_dirs(self.output_dir)
            if not found:
                raise ValueError(f"--resume_from_checkpoint latest: no checkpoint under {self.output_dir / 'checkpoints'}")
            ckpt = str(found[-1])
        check_checkpoint(Path(ckpt))
        self.accelerator.load_state(ckpt)
        restored = read_rng_states(Path(ckpt) / f"random_states_{self.accelerator.process_index}.pkl")
        if not torch.equal(torch.get_rng_state(), restored["torch_manual_seed"]):
            raise ValueError(f"--resume_from_checkpoint {ckpt}: the RNG state was not restored")
        state.load_state_dict(json.loads((Path(ckpt) / STATE_FILE).read_text(encoding="utf-8")))
        if self.accelerator.is_main_process:
            shutil.rmtree(self.best_dir, ignore_errors=True)
            if (Path(ckpt) / "best_model").is_dir():
                link_tree(Path(ckpt) / "best_model", self.best_dir)
        self.accelerator.wait_for_everyone()
        logger.info("resumed from %s at epoch %d, batch %d, step %d", ckpt, state.epoch, state.batch_in_epoch,
                    state.completed_steps)
        return state.completed_steps


def check_every(every: str | None) -> None:
    if every not in (None, "epoch") and not str(every).isdigit():
        raise ValueError(f"--checkpointing_steps must be a number or 'epoch', not {every!r}")


def check_checkpoint(folder: Path) -> None:
    """Refuse a folder that is not a whole hubkit checkpoint, or that holds a pickle accelerate would run."""
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
        read_rng_states(rng_file)
    try:
        json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))["completed_steps"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ValueError(f"--resume_from_checkpoint {folder / STATE_FILE}: unreadable ({err})") from None


def read_rng_states(rng_file: Path) -> dict:
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


def checkpoint_dirs(output_dir: Path) -> list[Path]:
    root = output_dir / "checkpoints"
    return sorted((p for p in root.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime) if root.is_dir() else []


def link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy) a folder's files: checkpoints share the best weights without copying them."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            try:
                os.link(f, dst / f.name)
            except OSError:
                shutil.copy2(f, dst / f.name)


__all__ = ["STATE_FILE", "CHECKPOINT_FILES", "Checkpoints", "check_every", "check_checkpoint", "read_rng_states",
           "checkpoint_dirs", "link_tree"]
