"""From a checkpoint path to its training run: the run dir, its resolved config and the rebuilt task.

A run dir holds ``config.yaml`` (the fully resolved training config) and ``checkpoints/*.ckpt``, so the
commands that start from a checkpoint (inference, evaluation) need nothing but its path.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import lightning as L
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from audiogan.utils.config import ConfigError


def checkpoint_file(path: str | os.PathLike | None) -> Path:
    """The checkpoint as a Path; none given or a missing file is a user error naming what was expected."""
    if path is None:
        raise ConfigError("no checkpoint given: pass ckpt_path=<run dir>/checkpoints/<file>.ckpt")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def run_dir(ckpt_path: str | os.PathLike) -> Path:
    """``<run dir>/checkpoints/<file>.ckpt`` -> ``<run dir>``; a checkpoint elsewhere -> its own folder."""
    folder = Path(ckpt_path).absolute().parent
    return folder.parent if folder.name == "checkpoints" else folder


def run_config(ckpt_path: str | os.PathLike) -> DictConfig:
    """The resolved training config of the run a checkpoint belongs to."""
    path = run_dir(ckpt_path) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"run config not found: {path} (a checkpoint is read from <run dir>/checkpoints/ "
            "next to the run's config.yaml)"
        )
    return OmegaConf.load(path)


def load_task(ckpt_path: str | os.PathLike, map_location: str = "cpu") -> L.LightningModule:
    """The task rebuilt from its saved constructor arguments and weights, as the class the run trained."""
    ckpt_path = checkpoint_file(ckpt_path)
    task_class = get_class(run_config(ckpt_path).model.task._target_)
    return task_class.load_from_checkpoint(ckpt_path, map_location=map_location)


def new_output_dir(ckpt_path: str | os.PathLike, command: str) -> Path:
    """A fresh ``<run dir>/<command>/<date>_<time>_<id>`` (named like run dirs) for a command's outputs."""
    return run_dir(ckpt_path) / command / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{uuid.uuid4().hex[:6]}"
