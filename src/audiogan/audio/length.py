"""Fitting a waveform to a number of samples by cropping and zero-padding (``augment.fit_length`` tiles
instead, for noise that should loop)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_or_pad(audio: torch.Tensor, length: int, start: int = 0) -> torch.Tensor:
    """``length`` samples along the last axis from ``start``, zero-padded where ``audio`` runs out."""
    audio = audio[..., start : start + length]
    return F.pad(audio, (0, length - audio.shape[-1]))
