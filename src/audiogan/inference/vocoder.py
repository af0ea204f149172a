"""A trained mel-to-waveform generator as its users meet it: mels to audio (:class:`MelVocoder`), audio
through its own front-end and back (:class:`MelResynthesis`), and the Python object of ``audiogan.load``
(:class:`VocoderModel`). Every vocoder family gives these the same way (:mod:`audiogan.tasks.vocoder`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram, MelRebinning
from audiogan.inference.audio_model import Audio, AudioModel


class MelVocoder(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, samples] with a vocoder's inference generator
    (log-mel [B, n_mels, frames] -> [B, 1, samples]).

    ``mel_config``: the front-end the incoming mels were computed with (default: the vocoder's own,
    ``own_config``). Another front-end's mels (voice conversion's dB mels over 20..8000 Hz) are rebinned into
    the vocoder's first.
    """

    def __init__(self, generator: nn.Module, own_config: AudioConfig, mel_config: AudioConfig | None = None):
        super().__init__()
        self.sample_rate = own_config.sample_rate
        self.hop_length = own_config.hop_length
        own = mel_config is None or mel_config == own_config
        self.rebin = nn.Identity() if own else MelRebinning(mel_config, own_config)
        self.generator = generator

    @torch.inference_mode()
    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.generator(self.rebin(log_mel)).squeeze(1)


class MelResynthesis(nn.Module):
    """Waveform [T] -> waveform [T] through a vocoder's own log-mel front-end and its generator.

    What a family offers inference: ``sample_rate``, ``min_samples`` and this forward. The input is
    zero-padded to a whole number of hops, the output trimmed back to the input's length.
    """

    def __init__(self, log_mel: LogMelSpectrogram, vocoder: MelVocoder):
        super().__init__()
        config = log_mel.config
        self.sample_rate = config.sample_rate
        self.hop_length = config.hop_length
        self.min_samples = config.n_fft  # shorter inputs cannot be reflect-padded for the STFT
        self.log_mel = log_mel
        self.vocoder = vocoder

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        padded = F.pad(audio, (0, -audio.numel() % self.hop_length))
        return self.vocoder(self.log_mel(padded.unsqueeze(0))).reshape(-1)[: audio.numel()]


class VocoderModel(AudioModel):
    """``audiogan.load`` of a vocoder: ``vocoder.vocode(log_mel)`` (mel in, audio out) and
    ``vocoder(waveform, sample_rate)`` (resynthesis); ``vocoder.log_mel(waveform, sample_rate)`` gives the
    model's own features of any audio."""

    def __init__(self, resynthesis: MelResynthesis, device: torch.device):
        super().__init__(resynthesis, device)
        self.features = resynthesis.log_mel

    @torch.inference_mode()
    def vocode(self, log_mel: torch.Tensor) -> Audio:
        """Log-mel [n_mels, frames] or [B, n_mels, frames] (this model's features) -> audio [samples]."""
        mel = torch.as_tensor(log_mel, dtype=torch.float32).to(self.device)
        audio = self.module.vocoder(mel.reshape(-1, *mel.shape[-2:]))
        return Audio(audio.reshape(*mel.shape[:-2], -1), self.sample_rate)

    @torch.inference_mode()
    def log_mel(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Waveform [T] or [B, T] at any rate -> log-mel [n_mels, frames] or [B, n_mels, frames]."""
        audio = self._at_model_rate(waveform, sample_rate)
        mel = self.features(audio.reshape(-1, audio.shape[-1]))
        return mel.reshape(*audio.shape[:-1], *mel.shape[-2:])
