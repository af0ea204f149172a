"""Writes validation samples (wav + mel images) to the run dir and sends them to every logger.

A task exposes ``validation_samples``: a list of dicts with ``name``, ``sample_rate``, ``audio``
({label: waveform [T]}), ``mel`` ({label: log-mel or spectrogram [bins, frames]}, rendered here) and
optionally ``images`` ({label: RGB uint8 [H, W, 3]}, already rendered, e.g. a grid). Works with CSV
(files only), TensorBoard and W&B loggers; only rank zero writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from audiogan.audio.io import save_audio
from audiogan.utils.images import render_mel, save_png

# a sample (as the task gave it) and its rendered images {label: RGB image}
TableRow = tuple[dict[str, Any], dict[str, np.ndarray]]


def _waveform(audio: torch.Tensor) -> torch.Tensor:
    """A sample's audio as loggers take it: float32 on the CPU, 1-D, within [-1, 1]."""
    return audio.detach().float().cpu().reshape(-1).clamp(-1, 1)


class SampleLogger(L.Callback):
    """Saves and logs the task's validation samples after every validation run (not the sanity check).

    Runs at ``on_validation_end``, after the task's own epoch-end hook has produced its samples.
    """

    def __init__(self, output_dir: str):
        self.output_dir = Path(output_dir)

    @rank_zero_only
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        samples = getattr(pl_module, "validation_samples", None)
        if trainer.sanity_checking or not samples:
            return
        step = int(getattr(getattr(pl_module, "counters", None), "batches", trainer.global_step))
        folder = self.output_dir / f"batch{step:08d}"
        rows = []
        for sample in samples:
            for label, audio in sample.get("audio", {}).items():
                rate = int(sample["sample_rate"])
                save_audio(folder / f"{sample['name']}_{label}.wav", audio, rate)
                self._log_audio(trainer, f"samples/{sample['name']}/{label}", audio, rate, step)
            images = {
                f"{label}_mel": render_mel(mel, f"{sample['name']} {label}")
                for label, mel in sample.get("mel", {}).items()
            }
            images.update(sample.get("images", {}))
            for label, image in images.items():
                save_png(folder / f"{sample['name']}_{label}.png", image)
                self._log_image(trainer, f"images/{sample['name']}/{label}", image, step)
            rows.append((sample, images))
        self._log_table(trainer, rows, step)

    @staticmethod
    def _log_audio(trainer: L.Trainer, key: str, audio: torch.Tensor, rate: int, step: int) -> None:
        waveform = _waveform(audio)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_audio(key, waveform.unsqueeze(0), step, sample_rate=rate)
            elif isinstance(logger, WandbLogger):
                logger.log_audio(key, [waveform.numpy()], step=None, sample_rate=[rate])

    @staticmethod
    def _log_image(trainer: L.Trainer, key: str, image: np.ndarray, step: int) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(key, image, step, dataformats="HWC")
            elif isinstance(logger, WandbLogger):
                logger.log_image(key, [image], step=None)

    @staticmethod
    def _log_table(trainer: L.Trainer, rows: list[TableRow], step: int) -> None:
        """One W&B table per validation run: a row per sample, its audio (input / generated / reference)
        and images side by side, so runs and validation steps compare in one view."""
        loggers = [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]
        if not loggers or not rows:
            return
        import wandb  # only when a W&B logger is in use: the import is slow

        cells = []
        for sample, images in rows:
            row: dict[str, Any] = {"sample": sample["name"]}
            for label, audio in sample.get("audio", {}).items():
                row[label] = wandb.Audio(_waveform(audio).numpy(), sample_rate=int(sample["sample_rate"]))
            row.update({label: wandb.Image(image) for label, image in images.items()})
            cells.append(row)
        columns = list(dict.fromkeys(column for row in cells for column in row))  # samples may differ
        data = [[step, *(row.get(column) for column in columns)] for row in cells]
        for logger in loggers:
            logger.log_table("samples/table", columns=["batch", *columns], data=data)
