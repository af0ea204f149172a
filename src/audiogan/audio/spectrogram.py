"""SpecGAN's spectrogram features, per-bin moments, normalisation and Griffin-Lim inversion.

As the original (``train_specgan.py``): 16 kHz slices of 16,384 samples; STFT with a 256-sample periodic Hann
window, hop 128, frames starting at sample 0 (no centring) and the signal zero-padded at the end so every
sample is covered (TF's ``pad_end``): 128 frames x 129 bins; the Nyquist bin is dropped, leaving 128 x 128.
Features are ``log(|X| + 1e-6)`` laid out as [B, 1, freq, time] with the lowest frequency at index 0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.length import crop_or_pad
from audiogan.utils.files import atomic_write
from audiogan.utils.tensor_files import load_tensor_file

SAMPLE_RATE = 16_000
SLICE_LENGTH = 16_384
N_FFT = 256
HOP_LENGTH = 128
EPS = 1e-6
CLIP_NSTD = 3.0  # normalised spectrograms are clipped at +-3 standard deviations, then scaled to [-1, 1]


def _window(n_fft: int, device: torch.device) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, device=device)


def _stft(audio: torch.Tensor, window: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Complex STFT [B, n_fft // 2 + 1, frames]; frame i covers samples [i * hop, i * hop + n_fft)."""
    n_fft = window.shape[0]
    return torch.stft(audio, n_fft, hop_length, window=window, center=False, return_complex=True)


def _overlap_add(chunks: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Frames [B, n_fft, frames] summed at offsets i * hop -> [B, (frames - 1) * hop + n_fft]."""
    n_fft, frames = chunks.shape[1:]
    length = (frames - 1) * hop_length + n_fft
    return F.fold(chunks, (1, length), (1, n_fft), stride=(1, hop_length)).flatten(1)


def _istft(spec: torch.Tensor, window: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Inverse of :func:`_stft`: windowed overlap-add divided by the window's periodic summed square.

    Inside the signal this is the least-squares inverse (what ``torch.istft`` computes). The first and last
    ``n_fft - hop`` samples are covered by fewer frames; dividing by their actual sum of squares would blow
    up where the Hann window is ~0 (spikes of ~100 at sample 1 after Griffin-Lim), so they fade in and out
    as in TF's ``inverse_stft`` instead. Needs ``hop_length`` to divide ``n_fft``.
    """
    n_fft = window.shape[0]
    audio = _overlap_add(torch.fft.irfft(spec, n=n_fft, dim=1) * window[:, None], hop_length)
    envelope = (window**2).view(-1, hop_length).sum(0)  # one period of the interior's sum of squares
    return audio / envelope.repeat(audio.shape[-1] // hop_length)


class LogMagnitudeSTFT(nn.Module):
    """Audio [B, T] or [B, 1, T] -> log magnitude [B, 1, n_fft // 2, ceil(T / hop)] (Nyquist dropped).

    Computed in float32 whatever the autocast dtype: the log needs the range.
    """

    def __init__(self, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, eps: float = EPS):
        super().__init__()
        self.n_fft, self.hop_length, self.eps = n_fft, hop_length, eps
        self.register_buffer("window", _window(n_fft, torch.device("cpu")), persistent=False)

    def log_magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        """All n_fft // 2 + 1 bins, [B, bins, frames]: what the moments are computed on."""
        if audio.dim() == 3:
            audio = audio.squeeze(1)
        frames = math.ceil(audio.shape[-1] / self.hop_length)
        pad_end = (frames - 1) * self.hop_length + self.n_fft - audio.shape[-1]
        with torch.autocast(audio.device.type, enabled=False):
            spec = _stft(F.pad(audio.float(), (0, pad_end)), self.window, self.hop_length)
            return torch.log(spec.abs() + self.eps)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.log_magnitude(audio)[:, None, :-1]


class FrequencyMoments(nn.Module):
    """Per-frequency-bin mean and std of the log magnitude over all frames of a dataset.

    Buffers (so they travel in checkpoints): ``mean`` and ``std`` [n_bins] over all bins, Nyquist included as
    in the original's ``moments.pkl``, and ``num_frames``, the number of frames they summarise (0 = unset).
    Methods taking a spectrogram [..., bins, frames] use the first ``bins`` entries, so they serve both the
    128-bin model domain and the full 129 bins.
    """

    def __init__(self, n_bins: int = N_FFT // 2 + 1):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_bins))
        self.register_buffer("std", torch.ones(n_bins))
        self.register_buffer("num_frames", torch.zeros((), dtype=torch.long))

    @property
    def is_set(self) -> bool:
        return bool(self.num_frames > 0)

    @torch.no_grad()
    def compute(
        self, audio_batches: Iterable[torch.Tensor], features: LogMagnitudeSTFT | None = None
    ) -> FrequencyMoments:
        """Set the moments from audio batches [B, T]: float64 sums per bin, population std (as np.std)."""
        features = features if features is not None else LogMagnitudeSTFT(n_fft=2 * (len(self.mean) - 1))
        total = torch.zeros_like(self.mean, dtype=torch.float64)
        total_sq = torch.zeros_like(total)
        count = 0
        for audio in audio_batches:
            logmag = features.to(audio.device).log_magnitude(audio).double()
            total += logmag.sum((0, 2)).to(total.device)
            total_sq += (logmag**2).sum((0, 2)).to(total.device)
            count += logmag.shape[0] * logmag.shape[2]
        if count == 0:
            raise ValueError("FrequencyMoments.compute: no audio")
        mean = total / count
        std = (total_sq / count - mean**2).clamp_min(0).sqrt()
        self.mean.copy_(mean)
        self.std.copy_(std)
        self.num_frames.fill_(count)
        return self

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bins = x.shape[-2]
        return self.mean[:bins, None], self.std[:bins, None]

    def normalize(self, logmag: torch.Tensor) -> torch.Tensor:
        """Log magnitude -> ((x - mean) / std) / 3 clipped to [-1, 1], the generator's tanh range."""
        mean, std = self._stats(logmag)
        return ((logmag.float() - mean) / (std * CLIP_NSTD)).clamp(-1.0, 1.0)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize` where it did not clip: x * 3 * std + mean."""
        mean, std = self._stats(x)
        return x.float() * CLIP_NSTD * std + mean

    def save(self, path: str | os.PathLike) -> None:
        """Cache the moments (a small state dict) so a dataset's pass is not repeated; written atomically."""
        with atomic_write(path) as tmp:
            torch.save({k: v.cpu() for k, v in self.state_dict().items()}, tmp)

    def load(self, path: str | os.PathLike) -> FrequencyMoments:
        """Load a cache written by :meth:`save` in place, onto this module's device; returns self."""
        self.load_state_dict(load_tensor_file(path, map_location=self.mean.device))
        return self


@torch.no_grad()
def invert(
    normalized_spec: torch.Tensor,
    moments: FrequencyMoments,
    n_iter: int = 16,
    hop_length: int = HOP_LENGTH,
    length: int = SLICE_LENGTH,
) -> torch.Tensor:
    """Normalised spectrogram [B, 1, 128, frames] or [B, 128, frames] -> audio [B, length], as ``f_to_t``.

    The dropped Nyquist bin is restored as 0 in the normalised domain (its mean), the rest denormalised and
    exponentiated (the 1e-6 eps is not subtracted, as the original). Griffin-Lim then runs ``n_iter``
    iterations from zero phase on the same framing as the analysis (frames at i * hop, no centring), and the
    result is cut (or zero-padded) to ``length`` samples.

    The original inverts with TF's ``inverse_stft`` without a synthesis-window normalisation, so its output
    carries a ripple of the summed squared Hann window (between 0.5 and 1 at 50% overlap). This port divides
    by that sum (least-squares ISTFT, like ``torch.istft``) and does not reproduce the ripple.
    """
    if normalized_spec.dim() == 4:
        normalized_spec = normalized_spec.squeeze(1)
    with torch.autocast(normalized_spec.device.type, enabled=False):
        x = F.pad(normalized_spec.float(), (0, 0, 0, 1))  # Nyquist row = 0 = its mean
        magnitude = torch.exp(moments.denormalize(x))
        window = _window(2 * (x.shape[1] - 1), x.device)
        spec = magnitude.to(torch.complex64)
        for _ in range(n_iter):
            estimate = _stft(_istft(spec, window, hop_length), window, hop_length)
            spec = magnitude * estimate / estimate.abs().clamp_min(1e-8)
        return crop_or_pad(_istft(spec, window, hop_length), length)


def temporal_shift(
    audio: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each example [B, ..., T] in time by a uniform integer in [-max_shift, max_shift] samples.

    Applied to the waveform before the STFT. Zero-filled rather than circular: the vacated end is silence,
    like the zero padding of short clips, instead of the other end of the word wrapped around. Shifts are
    drawn on ``generator``'s device (the CPU when none), so a seeded CPU generator reproduces them anywhere.
    """
    length = audio.shape[-1]
    draw_device = generator.device if generator is not None else torch.device("cpu")
    shifts = torch.randint(
        -max_shift, max_shift + 1, (audio.shape[0],), generator=generator, device=draw_device
    )
    shifts = shifts.to(audio.device).view(-1, *([1] * (audio.dim() - 1)))
    source = torch.arange(length, device=audio.device) - shifts  # output sample t comes from t - shift
    inside = (source >= 0) & (source < length)
    shifted = audio.gather(-1, source.clamp(0, length - 1).expand(audio.shape))
    return torch.where(inside, shifted, torch.zeros((), dtype=audio.dtype, device=audio.device))
