"""Spectral distances between waveforms, used as losses and as validation metrics."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiogan.audio.features import stft_magnitude


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1, averaged over several STFT resolutions.

    The Parallel WaveGAN formulation (Yamamoto et al. 2020); resolutions are (n_fft, hop, win).
    """

    def __init__(
        self, resolutions: Sequence[Sequence[int]] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
    ):
        super().__init__()
        self.resolutions = [tuple(int(v) for v in r) for r in resolutions]

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = generated.new_zeros((), dtype=torch.float32)
        for n_fft, hop, win in self.resolutions:
            gen = stft_magnitude(generated, n_fft, hop, win)
            ref = stft_magnitude(target, n_fft, hop, win)
            convergence = torch.linalg.norm(ref - gen, dim=(-2, -1)) / torch.linalg.norm(ref, dim=(-2, -1))
            log_l1 = (gen.log() - ref.log()).abs().mean(dim=(-2, -1))
            total = total + (convergence + log_l1).mean()
        return total / len(self.resolutions)
