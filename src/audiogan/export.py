"""Export trained generators for deployment (TorchScript), independent of the training code."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from torch import nn

from audiogan.models.layers import remove_weight_norm
from audiogan.utils.files import atomic_write


def export_torchscript(
    generator: nn.Module,
    path: str | os.PathLike,
    example_input: torch.Tensor | None = None,
    example_frames: int = 32,
) -> Path:
    """Trace an inference copy of ``generator`` (weight norm baked, eval mode) and save it atomically.

    ``example_input`` defaults to a [1, generator.n_mels, example_frames] mel for mel-conditioned generators;
    other generators pass their own. The trace keeps the time axis dynamic, so any length works afterwards.
    The file is written to a temporary name and renamed, so a crash never leaves a truncated model behind.
    """
    model = remove_weight_norm(copy.deepcopy(generator)).eval()
    if example_input is None:
        device = next(model.parameters()).device
        example_input = torch.randn(1, model.n_mels, example_frames, device=device)
    with torch.no_grad():
        scripted = torch.jit.trace(model, example_input)
    path = Path(path)
    with atomic_write(path) as tmp:
        torch.jit.save(scripted, str(tmp))
    return path
