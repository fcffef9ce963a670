"""Keeping the weights of the best epoch (by validation F1), and stopping when it stops improving.

Both are loop plugins reading the validation F1 the epoch's last history entry holds (written by
the trainer's validation plugin, which comes before them in the loop's list).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hubkit.training.loop import Plugin

logger = logging.getLogger("hubkit.training.best_model")


class BestModel(Plugin):
    """The best weights so far in `folder` (safetensors); `restore` puts them back in the model."""

    def __init__(self, accelerator, folder: Path):
        self.accelerator, self.folder = accelerator, Path(folder)

    def on_epoch_end(self, loop, epoch: int, train_loss: float) -> bool:
        state = loop.state
        f1 = state.history[-1]["validation_f1"]
        if f1 > state.best_f1:
            state.best_f1, state.best_epoch, state.bad_epochs = f1, epoch, 0
            self.save(loop.model)
        else:
            state.bad_epochs += 1
        return False

    def save(self, model) -> None:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:  # new files, so hard links in older checkpoints stay intact
            shutil.rmtree(self.folder, ignore_errors=True)
        accelerator.wait_for_everyone()  # save_pretrained lists the folder on every rank: not mid-removal
        best_state = accelerator.get_state_dict(model)  # on every rank: FSDP gathers the shards
        accelerator.unwrap_model(model).save_pretrained(self.folder, is_main_process=accelerator.is_main_process,
                                                        state_dict=best_state, save_function=accelerator.save,
                                                        safe_serialization=True)

    def restore(self, model) -> None:
        """Load the best weights into the (prepared) model; nothing to do when no epoch was validated."""
        from accelerate.utils import DistributedType

        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        if not (self.folder / "model.safetensors").is_file():
            return
        from safetensors.torch import load_file

        unwrapped = accelerator.unwrap_model(model)
        best_state = load_file(str(self.folder / "model.safetensors"), device="cpu")
        # FSDP (configs/accelerate_fsdp.yaml uses FULL_STATE_DICT) loads through the wrapped module.
        target = model if accelerator.distributed_type == DistributedType.FSDP else unwrapped
        missing, unexpected = target.load_state_dict(best_state, strict=False)
        if unexpected or [k for k in missing if k not in set(getattr(unwrapped, "_tied_weights_keys", None) or [])]:
            raise RuntimeError(f"best weights do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")

    def discard(self) -> None:
        """Remove the folder (rank 0): the final weights are written beside it."""
        if self.accelerator.is_main_process:
            shutil.rmtree(self.folder, ignore_errors=True)


class EarlyStopping(Plugin):
    """Stop after `patience` epochs in a row without a better validation F1 (None: never)."""

    def __init__(self, patience: int | None):
        self.patience = patience

    def on_epoch_end(self, loop, epoch: int, train_loss: float) -> bool:
        if self.patience and loop.state.bad_epochs >= self.patience:
            logger.info("early stopping: no better validation F1 for %d epochs", loop.state.bad_epochs)
            return True
        return False


__all__ = ["BestModel", "EarlyStopping"]
