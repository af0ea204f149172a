"""Writes validation samples (wav + spectrogram images) to the run dir and sends them to every logger.

The engine collects each validation's examples in ``task.validation_samples`` (a list of
:class:`~audiogan.samples.Sample`); a sample's spectrograms are rendered here as one image
(``<name>_spectrograms.png``), stacked in the sample's order on one colour scale. ``samples.json`` lists each
sample with audio: ``{name: {"sample_rate": rate, "audio": {label: role}}}``, roles in listening order
(:meth:`Sample.audio_roles`), for the listening report. Works with CSV (files only), TensorBoard and W&B
loggers; only rank zero writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from audiogan.audio.io import save_audio
from audiogan.samples import Sample
from audiogan.utils.files import atomic_write
from audiogan.utils.images import render_spectrograms, save_png

MANIFEST = "samples.json"
# one folder of samples per validation, named after the training batches done: batch00000100
FOLDER_PREFIX = "batch"


def samples_folder(samples_dir: str | Path, batch: int) -> Path:
    """The folder of the samples of the validation after ``batch`` training batches."""
    return Path(samples_dir) / f"{FOLDER_PREFIX}{batch:08d}"


# a sample (as the task gave it) and its rendered images {label: RGB image}
TableRow = tuple[Sample, dict[str, np.ndarray]]


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
        samples = pl_module.validation_samples
        if trainer.sanity_checking or not samples:
            return
        step = pl_module.counters.batches
        folder = samples_folder(self.output_dir, step)
        rows = []
        for sample in samples:
            for label, audio in sample.audio.items():
                save_audio(folder / f"{sample.name}_{label}.wav", audio, sample.sample_rate)
                self._log_audio(trainer, f"samples/{sample.name}/{label}", audio, sample.sample_rate, step)
            images = dict(sample.images)
            if sample.spectrograms:  # one picture, one colour scale: rows compare at a glance
                images["spectrograms"] = render_spectrograms(
                    sample.spectrograms, f"{sample.name}, batch {step}"
                )
            for label, image in images.items():
                save_png(folder / f"{sample.name}_{label}.png", image)
                self._log_image(trainer, f"images/{sample.name}/{label}", image, step)
            rows.append((sample, images))
        self._write_manifest(folder, samples)
        self._log_table(trainer, rows, step)

    @staticmethod
    def _write_manifest(folder: Path, samples: list[Sample]) -> None:
        manifest = {
            sample.name: {"sample_rate": sample.sample_rate, "audio": sample.audio_roles()}
            for sample in samples
            if sample.audio
        }
        with atomic_write(folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1) + "\n")

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
            row: dict[str, Any] = {"sample": sample.name}
            for label, audio in sample.audio.items():
                row[label] = wandb.Audio(_waveform(audio).numpy(), sample_rate=sample.sample_rate)
            row.update({label: wandb.Image(image) for label, image in images.items()})
            cells.append(row)
        columns = list(dict.fromkeys(column for row in cells for column in row))  # samples may differ
        data = [[step, *(row.get(column) for column in columns)] for row in cells]
        for logger in loggers:
            logger.log_table("samples/table", columns=["batch", *columns], data=data)
