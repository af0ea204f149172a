"""The training progress bar: batches done of the engine's budget, rate, ETA, the stage and the latest losses.

Lightning's own bar counts passes of the train loader ("Epoch 7: 40/113"); the GAN engine trains for
``schedule.max_batches`` batches across as many passes as that takes (``trainer.max_epochs=-1``). This bar
counts that budget instead, e.g. for the denoiser's curriculum (its smoke run on a CPU)::

    adversarial (stage 3/3):  75%|███████▌  | 6/8 [00:04<00:01,  1.47batch/s, d_loss=1.850, g_loss=7.730]

The sanity check, validation and test keep Lightning's tqdm bars.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

if TYPE_CHECKING:  # callbacks sit beside the tasks, not on them
    from audiogan.tasks.base import GANTask


class BudgetProgressBar(TQDMProgressBar):
    """One tqdm bar over the whole training budget of a :class:`GANTask`, across loader passes.

    Total: ``task.schedule.max_batches`` (open while still None; re-read at every pass, so a budget set in
    the task's ``on_train_start``, as voice conversion sets it from epochs, appears). Position:
    ``task.counters.batches``, so a resumed run starts at its checkpoint's count and an ``only_stage`` run at
    its stage's first batch; rate (batches/s) and ETA count this run's batches over its time, validations
    included. Description: when the schedule has several stages, the stage of the next batch (of the last
    one once the budget is spent), e.g. ``"postnet (stage 2/3)"``; else ``"train"``. Postfix: Lightning's
    bar metrics and the latest logged value of each name in ``losses``, without its ``train/`` prefix (names
    not logged yet are left out).
    """

    def __init__(
        self,
        losses: Sequence[str] = ("train/d_loss", "train/g_loss"),
        refresh_rate: int = 1,
        process_position: int = 0,
    ):
        super().__init__(refresh_rate=refresh_rate, process_position=process_position)
        self.losses = tuple(losses)

    def init_train_tqdm(self) -> Tqdm:
        task: GANTask = self.trainer.lightning_module
        return Tqdm(
            desc=stage_label(task),
            total=task.schedule.max_batches,
            initial=task.counters.batches,  # tqdm's rate (and so the ETA) counts from here
            unit="batch",
            position=2 * self.process_position,
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            bar_format=self.BAR_FORMAT,
        )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: GANTask) -> None:
        # no reset per loader pass (Lightning's bar restarts here); only a budget that arrived late
        self.train_progress_bar.total = pl_module.schedule.max_batches

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: GANTask, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        bar = self.train_progress_bar
        if self._should_update(pl_module.counters.batches, bar.total):
            bar.n = pl_module.counters.batches
            bar.set_description(stage_label(pl_module), refresh=False)
            bar.set_postfix(self.get_metrics(trainer, pl_module))  # refreshes the line

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        logged = trainer.callback_metrics
        latest = {name.removeprefix("train/"): float(logged[name]) for name in self.losses if name in logged}
        return {**super().get_metrics(trainer, pl_module), **latest}


def stage_label(task: GANTask) -> str:
    """``"<stage> (stage i/n)"`` for the batch the task trains next (its last one once the budget is spent),
    or ``"train"`` for a single-stage schedule."""
    schedule = task.schedule
    if len(schedule.stages) == 1:
        return "train"
    upcoming = task.counters.batches
    if schedule.max_batches is not None:
        upcoming = min(upcoming, schedule.max_batches - 1)
    index, _ = schedule.stage_at(upcoming)
    return f"{schedule.stages[index].name} (stage {index + 1}/{len(schedule.stages)})"
