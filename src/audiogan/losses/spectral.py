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


class LogSpectrogramLoss(nn.Module):
    """Mean L1 distance between log STFT magnitudes, averaged over resolutions ``[n_fft, hop]``.

    The denoiser's "multi-resolution spectrogram loss" (Su et al. 2020, arXiv 2006.05694). The resolutions
    2048/512 and 512/128 are those of the unofficial implementations; the distance the paper uses is not
    public, and L1 on log magnitudes, as here, is one of the choices those implementations make. The
    window spans the whole FFT frame.
    """

    def __init__(self, resolutions: Sequence[Sequence[int]] = ((2048, 512), (512, 128))):
        super().__init__()
        self.resolutions = [(int(n_fft), int(hop)) for n_fft, hop in resolutions]
        if not self.resolutions:
            raise ValueError("LogSpectrogramLoss needs at least one [n_fft, hop] resolution")

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        distances = [
            (
                stft_magnitude(generated, n_fft, hop, n_fft).log()
                - stft_magnitude(target, n_fft, hop, n_fft).log()
            )
            .abs()
            .mean()
            for n_fft, hop in self.resolutions
        ]
        return torch.stack(distances).mean()
