"""The training loop both trainers run: batches, gradient accumulation, clipping, optimizer steps, hooks.

One accumulation path for both: the loop decides from its own position in the epoch which batch
ends an optimizer step (every `gradient_accumulation_steps` batches, and the epoch's last batch),
runs the other batches under `accelerator.no_sync` (DDP exchanges gradients once per step), scales
each batch's loss by the number of batches its step really has (the epoch's last step may have
fewer), clips the gradient norm when `max_grad_norm` is set, and steps. The position is part of the
checkpointed TrainState, so a resumed run groups batches exactly like the original; accelerate's
own `accumulate` counts batches itself and divides by the full count in a short last step.

What happens around the steps (validation, keeping the best weights, checkpoints, early stopping,
logging) are plugins (hubkit.training.best_model, hubkit.training.checkpoints) with three hooks,
called in their list order: `on_epoch_start`, `on_step` and `on_epoch_end` (which may stop training).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Callable


class TrainState:
    """The loop position and bookkeeping saved in every checkpoint, as JSON (checkpoints.STATE_FILE): accelerate
    would pickle a registered object, and unpickling a checkpoint folder can run any code put there."""

    def __init__(self):
        self.epoch = 0  # current epoch
        self.batch_in_epoch = 0  # batches of it already consumed
        self.completed_steps = 0  # optimizer steps
        self.best_f1 = -1.0
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.history: list[dict] = []
        self.loss_sum = 0.0
        self.loss_batches = 0
        self.train_words = 0
        self.train_seconds = 0.0

    def state_dict(self) -> dict:
        return dict(vars(self))

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)


class Plugin:
    """Something the loop calls at fixed points; every hook is optional."""

    def on_epoch_start(self, loop: "TrainLoop", epoch: int) -> None:
        pass

    def on_step(self, loop: "TrainLoop") -> None:
        """After each optimizer step (loop.state.completed_steps counts it; loop.step_loss is its mean batch loss)."""

    def on_epoch_end(self, loop: "TrainLoop", epoch: int, train_loss: float) -> bool:
        """After each epoch (or the step that reached max_steps), the state already at the next epoch's start;
        True stops training."""
        return False


def start_accelerator(seed: int, **kwargs):
    """An Accelerator for one run, logging set up, the seed set."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    _forget_previous_precision()
    accelerator = Accelerator(**kwargs)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per checkpoint file otherwise
    # For every hubkit.training logger: the other ranks would repeat each line.
    logging.getLogger("hubkit.training").setLevel(logging.NOTSET if accelerator.is_local_main_process
                                                  else logging.WARNING)
    set_seed(seed)
    return accelerator


def _forget_previous_precision() -> None:
    """accelerate keeps one state per process, so a second in-process call (the reproduce grid,
    tests) would inherit the first one's mixed precision; a single process starts afresh."""
    from accelerate.state import AcceleratorState, PartialState

    if AcceleratorState._shared_state and PartialState._shared_state.get("num_processes", 1) == 1:
        AcceleratorState._reset_state()


def schedule(accelerator, optimizer, n_batches: int, train_args):
    """(lr scheduler, epochs, optimizer steps) for `n_batches` batches an epoch, all processes together."""
    from transformers import get_scheduler

    steps_per_epoch = math.ceil(n_batches / accelerator.num_processes / train_args.gradient_accumulation_steps)
    total_steps = train_args.max_steps or train_args.num_train_epochs * steps_per_epoch
    num_epochs = math.ceil(total_steps / steps_per_epoch)
    # The prepared scheduler steps once per process for each optimizer step.
    scheduler = get_scheduler(train_args.lr_scheduler_type, optimizer,
                              num_warmup_steps=math.ceil(train_args.warmup_ratio * total_steps) * accelerator.num_processes,
                              num_training_steps=total_steps * accelerator.num_processes)
    return scheduler, num_epochs, total_steps


class TrainLoop:
    """Model, optimizer, loader and scheduler prepared by accelerate, and the loop over them."""

    def __init__(self, accelerator, model, optimizer, loader, train_args, loss_fn: Callable, epoch_sampler=None):
        scheduler, self.num_epochs, self.total_steps = schedule(accelerator, optimizer, len(loader), train_args)
        self.model, self.optimizer, self.loader, self.scheduler = accelerator.prepare(model, optimizer, loader,
                                                                                      scheduler)
        self.accelerator, self.loss_fn = accelerator, loss_fn
        self.accumulation = train_args.gradient_accumulation_steps
        self.max_grad_norm = train_args.max_grad_norm
        self.epoch_sampler = epoch_sampler  # one with use_epoch(epoch): each epoch's order from (seed, epoch)
        self.state = TrainState()
        self.plugins: list[Plugin] = []
        self.step_loss = 0.0

    def fit(self) -> TrainState:
        """Train from state's position to the last epoch, max_steps, or a plugin's stop."""
        from tqdm.auto import tqdm

        state = self.state
        progress = tqdm(total=self.total_steps, initial=state.completed_steps, desc="training",
                        disable=not self.accelerator.is_local_main_process)
        self.model.train()
        for epoch in range(state.epoch, self.num_epochs):
            if self.epoch_sampler is not None:
                self.epoch_sampler.use_epoch(epoch)
            for plugin in self.plugins:
                plugin.on_epoch_start(self, epoch)
            stop = self._epoch(progress)
            train_loss = state.loss_sum / max(1, state.loss_batches)
            state.epoch, state.batch_in_epoch = epoch + 1, 0
            state.loss_sum, state.loss_batches = 0.0, 0
            for plugin in self.plugins:  # each one runs, even after one asked to stop
                stop = plugin.on_epoch_end(self, epoch, train_loss) or stop
            if stop:
                break
        progress.close()
        return state

    def _epoch(self, progress) -> bool:
        """The rest of the current epoch; True when max_steps was reached."""
        state = self.state
        loader = self.loader
        if state.batch_in_epoch:  # resumed mid-epoch
            loader = self.accelerator.skip_first_batches(self.loader, state.batch_in_epoch)
        tick, batch_losses, done = time.perf_counter(), [], False
        for batch in loader:
            loss, stepped = self._batch(batch)
            batch_losses.append(loss.detach().float().item())
            state.loss_sum += batch_losses[-1]
            state.loss_batches += 1
            state.train_words += int((batch["labels"] != -100).sum())
            state.batch_in_epoch += 1
            if not stepped:
                continue
            state.completed_steps += 1
            now = time.perf_counter()
            state.train_seconds, tick = state.train_seconds + now - tick, now  # up to date in a checkpoint
            self.step_loss, batch_losses = sum(batch_losses) / len(batch_losses), []
            progress.update(1)
            progress.set_postfix(loss=f"{state.loss_sum / state.loss_batches:.4f}")
            for plugin in self.plugins:
                plugin.on_step(self)
            if state.completed_steps >= self.total_steps:
                done = True
                break
        state.train_seconds += time.perf_counter() - tick
        return done

    def _batch(self, batch):
        """Forward and backward for one batch, then the optimizer step when the batch ends one: (loss, stepped)."""
        i, n, k = self.state.batch_in_epoch, len(self.loader), self.accumulation
        sync = (i + 1) % k == 0 or i + 1 == n
        in_step = k if (i // k + 1) * k <= n else n % k  # batches in this optimizer step
        # The forward pass too: DDP prepares the gradient exchange in it.
        with contextlib.nullcontext() if sync else self.accelerator.no_sync(self.model):
            loss = self.loss_fn(self.model, batch)
            self.accelerator.backward(loss / in_step)
        if sync:
            if self.max_grad_norm:
                self.accelerator.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
        return loss, sync


__all__ = ["TrainState", "Plugin", "TrainLoop", "start_accelerator", "schedule"]
