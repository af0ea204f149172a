"""Spectral distances between waveforms, used as losses and as validation metrics."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram, stft_magnitude


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


class MultiScaleMelLoss(nn.Module):
    """Sum over scales of the L1 distance between log10 mels, each scale a centred STFT of ``window_length``
    samples (hop a quarter of it, Hann window) and its own number of Slaney mels over the full band (librosa's
    bands), magnitudes clamped at ``log_floor``: the multi-scale mel loss of DAC (Kumar et al. 2023, arXiv
    2306.06546) that BigVGAN-v2 trains with. Waveforms [B, T] or [B, 1, T] at ``sample_rate``."""

    def __init__(
        self,
        sample_rate: int,
        window_lengths: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048),
        n_mels: Sequence[int] = (5, 10, 20, 40, 80, 160, 320),
        log_floor: float = 1e-5,
    ):
        super().__init__()
        self.scales = nn.ModuleList(
            LogMelSpectrogram(
                AudioConfig(
                    sample_rate=sample_rate,
                    n_fft=window,
                    hop_length=window // 4,
                    win_length=window,
                    n_mels=mels,
                    filterbank="librosa",
                    log="log10",
                    log_floor=log_floor,
                    center=True,
                )
            )
            for window, mels in zip(window_lengths, n_mels, strict=True)
        )

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.stack(
            [torch.nn.functional.l1_loss(scale(generated), scale(target)) for scale in self.scales]
        ).sum()
