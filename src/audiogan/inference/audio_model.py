"""The object Python callers get from ``audiogan.load``: waveforms in at any rate, :class:`Audio` out."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from audiogan.audio.io import resample


class Audio(NamedTuple):
    """A waveform [T] (or [B, T] for a batch) in [-1, 1], float32, and its sample rate in Hz."""

    waveform: torch.Tensor
    sample_rate: int


class AudioModel:
    """A family's inference module (waveform [T] at its ``sample_rate`` -> waveform [T]) for Python callers:
    ``model(waveform, sample_rate)`` takes [T] or [B, T] at any rate and returns :class:`Audio` at the
    model's rate, each item as long as its input. ``device``: where the module runs."""

    def __init__(self, module: nn.Module, device: torch.device):
        self.module = module.to(device).eval()
        self.sample_rate = int(module.sample_rate)
        self.device = device

    def _at_model_rate(self, waveform: torch.Tensor | np.ndarray, sample_rate: int) -> torch.Tensor:
        waveform = torch.as_tensor(waveform, dtype=torch.float32)
        if waveform.dim() not in (1, 2):
            raise ValueError(f"expected a waveform [T] or a batch [B, T], got shape {tuple(waveform.shape)}")
        return resample(waveform, int(sample_rate), self.sample_rate).to(self.device)

    @torch.inference_mode()
    def __call__(self, waveform: torch.Tensor | np.ndarray, sample_rate: int) -> Audio:
        audio = self._at_model_rate(waveform, sample_rate)
        outputs = [self.module(clip) for clip in audio.reshape(-1, audio.shape[-1])]
        return Audio(torch.stack(outputs).reshape(audio.shape), self.sample_rate)
