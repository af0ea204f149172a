"""Spectral features shared by data, models, losses and metrics, all from one AudioConfig."""

from __future__ import annotations

import math

import torch
import torchaudio
from torch import nn

from audiogan.audio.config import AudioConfig


def _to_log(magnitude: torch.Tensor, scale: str, floor: float) -> torch.Tensor:
    magnitude = magnitude.clamp_min(floor)
    if scale == "log10":
        return torch.log10(magnitude)
    if scale == "ln":
        return torch.log(magnitude)
    return 20.0 * torch.log10(magnitude)  # "db" of a magnitude


def decibels_in_log_units(decibels: float, scale: str) -> float:
    """A magnitude ratio of ``decibels`` dB as a difference on the log scale ``scale`` (log10, ln or db)."""
    return float(_to_log(torch.tensor(10.0 ** (decibels / 20.0)), scale, floor=0.0))


def _from_log(log_magnitude: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "log10":
        return torch.pow(10.0, log_magnitude)
    if scale == "ln":
        return torch.exp(log_magnitude)
    return torch.pow(10.0, log_magnitude / 20.0)


def _mel_scale(config: AudioConfig) -> dict:
    """A front-end's mel bands as torchaudio's filterbank functions name them."""
    return {
        "f_min": config.fmin,
        "f_max": config.mel_fmax,
        "n_mels": config.n_mels,
        "sample_rate": config.sample_rate,
        "norm": config.mel_norm,
        "mel_scale": config.mel_scale,
    }


def mel_filterbank(config: AudioConfig) -> torch.Tensor:
    """The mel filterbank [n_mels, n_freqs] of a front-end, by the library its ``filterbank`` names."""
    if config.filterbank == "torchaudio":
        fbank = torchaudio.functional.melscale_fbanks(n_freqs=config.n_fft // 2 + 1, **_mel_scale(config))
        return fbank.T.contiguous()
    import librosa.filters  # (1.5 s to import: only where a front-end is built)

    bands = librosa.filters.mel(
        sr=config.sample_rate,
        n_fft=config.n_fft,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.mel_fmax,
        htk=config.mel_scale == "htk",
        norm=config.mel_norm,
    )
    return torch.from_numpy(bands)


class LogMelSpectrogram(nn.Module):
    """Log-mel of a waveform as front-end ``config`` describes it (framing, filterbank, log: AudioConfig).

    Uncentred framing (MelGAN, HiFi-GAN) reflect-pads the waveform by (n_fft - hop) / 2 on each side, so T
    samples give exactly T // hop frames and a vocoder's output is frames * hop samples long; centred framing
    (Vocos) gives T // hop + 1 frames (``config.frames``). Computed in float32 whatever the autocast dtype,
    because STFT and log need the range.
    """

    def __init__(self, config: AudioConfig):
        super().__init__()
        self.config = config
        self.pad = 0 if config.center else (config.n_fft - config.hop_length) // 2
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer("mel_basis", mel_filterbank(config), persistent=False)  # [n_mels, n_freqs]

    def magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitude [B, n_freqs, frames] of a waveform [B, T] or [B, 1, T]."""
        if audio.dim() == 3:
            audio = audio.squeeze(1)
        with torch.autocast(audio.device.type, enabled=False):
            audio = audio.float()
            if self.pad:
                padded = torch.nn.functional.pad(audio.unsqueeze(1), (self.pad, self.pad), mode="reflect")
                audio = padded[:, 0]
            spec = torch.stft(
                audio,
                n_fft=self.config.n_fft,
                hop_length=self.config.hop_length,
                win_length=self.config.win_length,
                window=self.window,
                center=self.config.center,
                pad_mode="reflect",
                return_complex=True,
            )
            if self.config.magnitude_eps:
                return (spec.real.square() + spec.imag.square() + self.config.magnitude_eps).sqrt()
            return spec.abs()

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel [B, n_mels, config.frames(T)] of a waveform [B, T] or [B, 1, T]."""
        magnitude = self.magnitude(audio)
        with torch.autocast(magnitude.device.type, enabled=False):
            mel = torch.matmul(self.mel_basis, magnitude)
            return _to_log(mel, self.config.log, self.config.log_floor)


class MelRebinning(nn.Module):
    """A log-mel of one front-end as the log-mel another front-end would have computed from the same audio.

    Lets a model trained on one mel (voice conversion: dB, 20..8000 Hz) feed a vocoder trained on another
    (MelGAN: log10, 0..11025 Hz). Both must frame the audio alike (sample rate, n_fft, hop). Mel bands are
    mapped through the least-squares linear spectrum of the source bands (pseudo-inverse, negatives set to
    0, as torchaudio's InverseMelScale does); bands the source does not cover come out at the target's floor.
    """

    def __init__(self, source: AudioConfig, target: AudioConfig):
        super().__init__()
        grid = ("sample_rate", "n_fft", "hop_length")
        differ = [
            f"{key} {getattr(source, key)} vs {getattr(target, key)}"
            for key in grid
            if getattr(source, key) != getattr(target, key)
        ]
        if differ:
            raise ValueError(f"mels framed differently cannot be rebinned: {', '.join(differ)}")
        self.source, self.target = source, target
        source_bank, target_bank = mel_filterbank(source), mel_filterbank(target)
        self.same_bands = torch.equal(source_bank, target_bank)
        self.register_buffer(
            "rebin", target_bank @ torch.linalg.pinv(source_bank.double()).float(), persistent=False
        )

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """[B, n_mels, frames] in the source's bands and log scale -> the target's bands and log scale."""
        with torch.autocast(log_mel.device.type, enabled=False):
            mel = _from_log(log_mel.float(), self.source.log)
            if not self.same_bands:
                mel = torch.matmul(self.rebin, mel).clamp_min(0.0)
            return _to_log(mel, self.target.log, self.target.log_floor)


class GriffinLimVocoder(nn.Module):
    """Log-mel back to audio without a neural vocoder: the baseline every vocoder must beat.

    Mel to linear magnitude by non-negative least squares (torchaudio's InverseMelScale), then
    Griffin-Lim phase reconstruction with ``config.griffin_lim_iters`` iterations.
    """

    def __init__(self, config: AudioConfig, n_iter: int | None = None):
        super().__init__()
        self.config = config
        self.inverse_mel = torchaudio.transforms.InverseMelScale(
            n_stft=config.n_fft // 2 + 1, **_mel_scale(config)
        )
        self.n_iter = n_iter if n_iter is not None else config.griffin_lim_iters
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    @torch.no_grad()
    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Waveform [B, frames * hop] (centred front-ends: [B, (frames - 1) * hop]) from a log-mel
        [B, n_mels, frames]."""
        with torch.autocast(log_mel.device.type, enabled=False):
            mel = _from_log(log_mel.float(), self.config.log)
            magnitude = self.inverse_mel(mel)
            audio = torchaudio.functional.griffinlim(
                magnitude,
                window=self.window,
                n_fft=self.config.n_fft,
                hop_length=self.config.hop_length,
                win_length=self.config.win_length,
                power=1.0,
                n_iter=self.n_iter,
                momentum=0.99,
                length=None,
                rand_init=False,
            )
        if self.config.center:  # Griffin-Lim frames are centred on i * hop, as the front-end's
            return audio
        # an uncentred front-end's frames are centred on i * hop + hop / 2: shift, then pad to frames * hop
        shift = self.config.hop_length // 2
        target = log_mel.shape[-1] * self.config.hop_length
        return torch.nn.functional.pad(audio, (shift, target - shift - audio.shape[-1]))


def stft_magnitude(audio: torch.Tensor, n_fft: int, hop_length: int, win_length: int) -> torch.Tensor:
    """Centred STFT magnitude [B, n_freqs, frames] for spectral losses and metrics (float32)."""
    if audio.dim() == 3:
        audio = audio.squeeze(1)
    window = torch.hann_window(win_length, device=audio.device)
    with torch.autocast(audio.device.type, enabled=False):
        spec = torch.stft(
            audio.float(), n_fft, hop_length, win_length, window=window, center=True, return_complex=True
        )
        return spec.abs().clamp_min(math.sqrt(1e-7))
