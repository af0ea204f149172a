"""A run directory read back: what ran (family, data, config), how far, its validation curves, checkpoints and
samples. What ``train.py`` leaves in ``outputs/<family>/runs/<time>_<id>/`` is the contract:

* ``config.yaml`` -- the resolved config; ``.hydra/hydra.yaml`` -- the config groups chosen (model, data);
* ``csv/metrics.csv`` -- every logged value (the default CSV logger); a validation's row holds its scores with
  ``progress/batches`` and ``progress/seconds`` (where the run stood when it validated);
* ``checkpoints/best-*.ckpt`` and ``checkpoints/last.ckpt``;
* ``samples/batch<NNNNNNNN>/<clip>_<label>.wav`` and ``<clip>_spectrograms.png``, one folder per validation,
  with ``samples.json`` naming each clip's audio labels and their roles (input, reference, output, baseline).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from audiogan.callbacks.samples import FOLDER_PREFIX, samples_folder
from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import read_checkpoint

BATCHES, SECONDS = "progress/batches", "progress/seconds"


class RunDirError(ConfigError):
    """A folder that is not a run dir, or lacks what was asked of it; the message names the path."""


@dataclass(frozen=True)
class Validation:
    """One validation of a run: after ``batches`` training batches and ``seconds`` of wall-clock training,
    its scores by logged name (``val/mel_l1``, ``val/mel_l1_griffinlim``, ...)."""

    batches: int
    seconds: float
    scores: dict[str, float]


class RunDir:
    """A run directory written by ``train.py``; ``RunDirError`` when ``path`` is not one."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not (self.path / "config.yaml").is_file():
            raise RunDirError(
                f"{self.path} is not a run dir: expected {self.path / 'config.yaml'}, written by train.py"
            )

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def config(self) -> DictConfig:
        return OmegaConf.load(self.path / "config.yaml")

    @cached_property
    def _choices(self) -> dict[str, str]:
        hydra_file = self.path / ".hydra" / "hydra.yaml"
        if not hydra_file.is_file():
            return {}
        choices = OmegaConf.load(hydra_file).hydra.runtime.choices
        return {str(group): str(option) for group, option in choices.items()}

    @property
    def family(self) -> str:
        """The model config the run used (``model=hifigan_denoise``), else its task class's name."""
        return self._choices.get("model") or self.config.model.task._target_.rsplit(".", 1)[-1]

    @property
    def data(self) -> str:
        """The data config the run used (``data=ljspeech``), else the datamodule class's name."""
        return self._choices.get("data") or self.config.data._target_.rsplit(".", 1)[-1]

    @property
    def budget(self) -> int | None:
        """The training budget in batches (``schedule.max_batches``, or the stages' lengths summed)."""
        schedule = self.config.model.task.get("schedule") or {}
        if schedule.get("max_batches") is not None:
            return int(schedule.max_batches)
        stages = schedule.get("stages") or []
        return sum(int(stage.batches) for stage in stages) or None

    @cached_property
    def validations(self) -> list[Validation]:
        """Every validation the metrics CSV logged, in order (none when the run logged no CSV)."""
        path = self.path / "csv" / "metrics.csv"
        if not path.is_file():
            return []
        with open(path, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get(BATCHES)]
        return [
            Validation(
                batches=int(float(row[BATCHES])),
                seconds=float(row[SECONDS]) if row.get(SECONDS) else math.nan,
                scores={key: float(value) for key, value in row.items() if key.startswith("val/") and value},
            )
            for row in rows
        ]

    @property
    def batches_reached(self) -> int:
        return max((v.batches for v in self.validations), default=0)

    def checkpoint(self, which: str = "best") -> Path:
        """``best`` (the monitored metric's best), ``last``, or an explicit file name in ``checkpoints/``."""
        folder = self.path / "checkpoints"
        if which == "best":
            found = sorted(folder.glob("best*.ckpt"))
            if found:
                return found[-1]
            raise RunDirError(f"{folder} holds no best*.ckpt (the run never validated?)")
        path = folder / ("last.ckpt" if which == "last" else which)
        if not path.is_file():
            raise RunDirError(f"checkpoint not found: {path}")
        return path

    def sample_batches(self) -> list[int]:
        """The batch counts at which samples were written (one folder each), ascending."""
        counts = (
            f.name.removeprefix(FOLDER_PREFIX) for f in (self.path / "samples").glob(f"{FOLDER_PREFIX}*")
        )
        return sorted(int(count) for count in counts if count.isdigit())

    def samples_at(self, which: str | int = "best") -> Path:
        """The samples folder of a validation: ``best`` / ``last`` (the batch that checkpoint was saved at, or
        the last folder before it) or a batch count (the last folder at or before it)."""
        available = self.sample_batches()
        if not available:
            raise RunDirError(f"{self.path / 'samples'} holds no batch<N> folders (the run wrote no samples)")
        if isinstance(which, str) and not which.isdigit():
            counters = read_checkpoint(self.checkpoint(which)).get("gan_engine", {}).get("counters", {})
            target = int(counters.get("batches", available[-1]))
        else:
            target = int(which)
        eligible = [batch for batch in available if batch <= target]
        if not eligible:
            raise RunDirError(f"{self.path / 'samples'} has no samples at or before batch {target}")
        return samples_folder(self.path / "samples", eligible[-1])
