"""Training a waveform family on one fixed segment of real speech, recording its losses."""

from __future__ import annotations

import lightning as L
import torch
from conftest import fitted_datamodule, quiet_trainer
from torch.utils.data import DataLoader, Dataset

from audiogan.commands.train import build_task


class OneBatch(Dataset):
    """The same segment of real speech, served ``repeats`` times."""

    def __init__(self, audio: torch.Tensor, repeats: int):
        self.audio, self.repeats = audio, repeats

    def __len__(self):
        return self.repeats

    def __getitem__(self, i):
        return {"audio": self.audio}


class RecordLosses(L.Callback):
    """Every ``train/*`` value logged, batch by batch."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        for key, value in trainer.callback_metrics.items():
            if key.startswith("train/"):
                self.history.setdefault(key, []).append(float(value))


def overfit(cfg, batches: int) -> dict[str, list[float]]:
    """The ``train/*`` histories of the config's task trained ``batches`` times on one training segment."""
    torch.manual_seed(0)  # the same initial weights whatever ran before in this process
    task = build_task(cfg)
    segment = fitted_datamodule(cfg).datasets["train"][(3, 0)]["audio"]
    recorder = RecordLosses()
    quiet_trainer(max_epochs=1, callbacks=[recorder]).fit(
        task, train_dataloaders=DataLoader(OneBatch(segment, batches), batch_size=1)
    )
    return recorder.history


def early_late(values: list[float], n: int = 5) -> tuple[float, float]:
    """The means of the first and the last ``n`` values."""
    return sum(values[:n]) / n, sum(values[-n:]) / n
