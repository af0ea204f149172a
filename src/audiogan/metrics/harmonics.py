"""Whether a vocoder's output has the reference's harmonics, not only its spectral envelope.

A log-mel spectrogram is a smooth envelope (formants, loudness) times a ripple along frequency: the
harmonics of the voice, resolved by the narrow mel bins of the low band. Subtracting a moving average over a
few neighbouring bins keeps the ripple alone, the spectral fine structure (the envelope / fine-structure split
of source-filter analysis, as cepstral liftering does it: Oppenheim and Schafer, "Discrete-Time Signal
Processing", ch. 13). A vocoder that has only learned the envelope (the first minutes of training) has no
ripple there, or a fixed one from its upsampling, and scores about 0 against the reference; one that puts
every harmonic where the reference has it scores 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.features import LogMelSpectrogram, decibels_in_log_units


class HarmonicCorrelation(nn.Module):
    """Pearson correlation of the mel fine structure of generated and reference audio, in [-1, 1].

    ``(generated, reference)``: log-mels [B, n_mels, frames] from ``log_mel`` (the front-end this metric is
    built for) -> the mean over the batch of each clip's correlation, over the mel bins centred below
    ``max_hz`` (where the bins are narrow enough to resolve a voice's harmonics) and the reference's frames
    within ``range_db`` of its loudest in that band (silence has no harmonics to match). The fine structure is
    the log-mel minus its moving average over ``width`` bins; the log's base does not change a correlation.
    Griffin-Lim resynthesis of speech from its own mel scores about 0.97.
    """

    def __init__(
        self, log_mel: LogMelSpectrogram, max_hz: float = 2000.0, width: int = 5, range_db: float = 30.0
    ):
        super().__init__()
        if width < 3 or width % 2 == 0:
            raise ValueError(f"HarmonicCorrelation width must be an odd number of bins >= 3, got {width}")
        config = log_mel.config
        centres_hz = log_mel.mel_basis.argmax(dim=1).float() * config.sample_rate / config.n_fft
        self.n_bins = int((centres_hz < max_hz).sum())
        if self.n_bins <= width:
            raise ValueError(f"HarmonicCorrelation: {self.n_bins} mel bins below {max_hz} Hz, need > {width}")
        self.width = width
        self.loud_range = decibels_in_log_units(range_db, config.log)

    def fine_structure(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel [B, n_mels, frames] -> the fine structure of its low band [B, n_bins, frames]."""
        low_band = log_mel[:, : self.n_bins].transpose(1, 2)  # [B, frames, n_bins]
        half = self.width // 2
        padded = F.pad(low_band.reshape(-1, 1, self.n_bins), (half, half), mode="replicate")
        envelope = F.avg_pool1d(padded, self.width, stride=1).reshape(low_band.shape)
        return (low_band - envelope).transpose(1, 2)

    @torch.no_grad()
    def forward(self, generated: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        # float32 whatever the autocast dtype: the ripple is a few tenths of a unit on a log scale
        with torch.autocast(reference.device.type, enabled=False):
            return self._correlation(generated.float(), reference.float())

    def _correlation(self, generated: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        reference_fine, generated_fine = self.fine_structure(reference), self.fine_structure(generated)
        loudness = reference[:, : self.n_bins].amax(dim=1)  # [B, frames]
        scores = []
        for ref, gen, loud in zip(reference_fine, generated_fine, loudness, strict=True):
            frames = loud >= loud.max() - self.loud_range
            pair = torch.stack([ref[:, frames].flatten(), gen[:, frames].flatten()])
            scores.append(torch.corrcoef(pair)[0, 1].nan_to_num(0.0))  # a constant output: no correlation
        return torch.stack(scores).mean()
