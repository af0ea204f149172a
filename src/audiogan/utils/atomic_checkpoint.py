"""Checkpoints that are never half-written: write to a temp file in the same dir, then rename."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from audiogan.errors import CheckpointWriteError
from audiogan.utils.files import atomic_write


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`atomic_write`: readers see the old file or the new one, never partial."""
    with atomic_write(path) as tmp:
        torch.save(obj, tmp)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O with atomic writes (a crash mid-save leaves the previous file intact). A write
    that fails (disk full, I/O error) stops the run at once with :class:`CheckpointWriteError`."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        try:
            atomic_torch_save(checkpoint, path)
        except (OSError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
            folder = Path(path).parent
            free = shutil.disk_usage(folder).free / 2**20 if folder.is_dir() else float("nan")
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CheckpointWriteError(
                f"could not write checkpoint {path} ({reason}); {free:.0f} MiB free on that disk. Training "
                "stopped; the checkpoints already there are intact"
            ) from err
