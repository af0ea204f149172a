"""How close resynthesised audio is to the reference: log-mel L1, multi-resolution STFT distance and
harmonic fine-structure correlation."""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from audiogan.audio.features import LogMelSpectrogram
from audiogan.losses.spectral import MultiResolutionSTFTLoss
from audiogan.metrics.harmonics import HarmonicCorrelation


class VocoderMetrics(nn.Module):
    """Per-batch distances between generated and reference waveforms of equal length, on the front-end
    ``log_mel``.

    ``mel_l1`` is MelGAN's and HiFi-GAN's validation "mel error"; ``mrstft`` is the multi-resolution
    STFT distance (spectral convergence + log magnitude); lower is better for both. ``harmonic_corr``
    (higher is better, at most 1) says whether the harmonics are there, which the other two, dominated by the
    spectral envelope, hardly show in the first minutes of training. ``sample_rate``: the rate of the audio
    scored, resampled to the front-end's first where they differ (None: the front-end's rate).
    """

    def __init__(self, log_mel: LogMelSpectrogram, sample_rate: int | None = None, resolutions=None):
        super().__init__()
        self.log_mel = log_mel
        self.mrstft = MultiResolutionSTFTLoss(resolutions) if resolutions else MultiResolutionSTFTLoss()
        self.harmonic_corr = HarmonicCorrelation(log_mel)
        rate = log_mel.config.sample_rate
        self.resample = nn.Identity()
        if sample_rate is not None and sample_rate != rate:
            self.resample = torchaudio.transforms.Resample(sample_rate, rate)
            # derived from the rates: not part of a checkpoint's weights
            self.resample.register_buffer("kernel", self.resample.kernel, persistent=False)

    @torch.no_grad()
    def forward(self, generated: torch.Tensor, reference: torch.Tensor) -> dict[str, torch.Tensor]:
        generated = generated.reshape(reference.shape[0], -1)[:, : reference.shape[-1]]
        reference = reference.reshape(reference.shape[0], -1)
        with torch.autocast(reference.device.type, enabled=False):
            generated, reference = self.resample(generated.float()), self.resample(reference.float())
        generated_mel, reference_mel = self.log_mel(generated), self.log_mel(reference)
        return {
            "mel_l1": (generated_mel - reference_mel).abs().mean(),
            "mrstft": self.mrstft(generated, reference),
            "harmonic_corr": self.harmonic_corr(generated_mel, reference_mel),
        }
