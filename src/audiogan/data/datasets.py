"""What one family consumes, built from a list of utterances. Items are dicts of tensors."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from audiogan.audio.io import load_audio
from audiogan.audio.length import crop_or_pad
from audiogan.data.corpora.base import Utterance
from audiogan.data.predicted_mels import aligned_segment, load_predicted_mel, mel_path


class AudioSource:
    """Decodes utterances at one sample rate, optionally keeping them in memory (small corpora)."""

    def __init__(self, utterances: list[Utterance], sample_rate: int, cache_in_memory: bool):
        self.utterances = list(utterances)
        self.sample_rate = sample_rate
        self.cache: dict[int, torch.Tensor] | None = {} if cache_in_memory else None

    def __len__(self) -> int:
        return len(self.utterances)

    def load(self, index: int) -> torch.Tensor:
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        audio = load_audio(self.utterances[index].path, self.sample_rate)
        if self.cache is not None:
            self.cache[index] = audio
        return audio


GAIN_UNITS = ("linear", "db")


class WaveformSegments(Dataset):
    """Random fixed-length segments for vocoder training, as the original MelGAN data pipeline.

    Each clip is peak-normalised to ``peak`` and scaled by a random gain drawn uniformly from ``gain_range``,
    a linear factor or, with ``gain_unit="db"``, decibels (Vocos: a peak level between -6 and -1 dBFS);
    clips shorter than the segment are zero-padded. Indexed by ``(index, seed)`` pairs from
    :class:`~audiogan.data.sampling.SeededSampler`, so every random choice is reproducible.

    ``predicted_mels`` (``"beside"`` or a folder; :mod:`audiogan.data.predicted_mels`): items also hold the
    mel a TTS model predicted for the segment (``"mel"``, [n_mels, segment_length / hop_length]), which the
    vocoder then takes as its input, and the audio stays as recorded (no peak or gain: the mel was predicted
    for it), as HiFi-GAN's fine-tuning trains.
    """

    def __init__(
        self,
        utterances: list[Utterance],
        sample_rate: int,
        segment_length: int,
        peak: float | None = 0.95,
        gain_range: tuple[float, float] | None = (0.3, 1.0),
        cache_in_memory: bool = False,
        predicted_mels: str | None = None,
        hop_length: int | None = None,
        gain_unit: str = "linear",
    ):
        if gain_unit not in GAIN_UNITS:
            raise ValueError(f"model.datasets.train.gain_unit={gain_unit!r}; expected one of {GAIN_UNITS}")
        self.source = AudioSource(utterances, sample_rate, cache_in_memory)
        self.gain_unit = gain_unit
        self.segment_length = int(segment_length)
        self.peak = peak
        self.gain_range = tuple(gain_range) if gain_range is not None else None
        self.predicted_mels = predicted_mels
        self.hop_length = hop_length
        if predicted_mels is not None:
            if peak is not None or gain_range is not None:
                raise ValueError(
                    "model.datasets.train.predicted_mels: the mels were predicted for the audio as recorded; "
                    "set model.datasets.train.peak=null and gain_range=null"
                )
            if not hop_length or self.segment_length % hop_length:
                raise ValueError(
                    f"model.datasets.train.predicted_mels needs hop_length dividing segment_length "
                    f"({self.segment_length}); got hop_length={hop_length}"
                )

    def __len__(self) -> int:
        return len(self.source)

    @property
    def utterances(self) -> list[Utterance]:
        return self.source.utterances

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key
        rng = np.random.default_rng(seed)
        audio = self.source.load(index)
        if self.predicted_mels is not None:
            mel = load_predicted_mel(mel_path(self.utterances[index], self.predicted_mels))
            frames = self.segment_length // self.hop_length
            mel, audio = aligned_segment(mel, audio, frames, self.hop_length, rng)
            return {"audio": audio.float().contiguous(), "mel": mel.contiguous()}
        if self.peak is not None:
            audio = self.peak * audio / audio.abs().max().clamp_min(1e-8)
        start = 0
        if audio.numel() >= self.segment_length:
            start = int(rng.integers(0, audio.numel() - self.segment_length + 1))
        audio = crop_or_pad(audio, self.segment_length, start)
        if self.gain_range is not None:
            gain = float(rng.uniform(*self.gain_range))
            audio = audio * (10.0 ** (gain / 20.0) if self.gain_unit == "db" else gain)
        return {"audio": audio.float().contiguous()}


class WaveformClips(Dataset):
    """Whole held-out clips (first ``max_seconds``), trimmed to a multiple of ``length_multiple``.

    Used one clip per batch for validation and testing, so clips of any length can be compared.
    """

    def __init__(
        self,
        utterances: list[Utterance],
        sample_rate: int,
        max_seconds: float | None = None,
        length_multiple: int = 1,
        peak: float | None = 0.95,
    ):
        self.source = AudioSource(utterances, sample_rate, cache_in_memory=True)
        self.max_samples = int(max_seconds * sample_rate) if max_seconds else None
        self.length_multiple = int(length_multiple)
        self.peak = peak

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        audio = self.source.load(index)
        if self.max_samples is not None:
            audio = audio[: self.max_samples]
        audio = audio[: audio.numel() // self.length_multiple * self.length_multiple]
        if self.peak is not None:
            audio = self.peak * audio / audio.abs().max().clamp_min(1e-8)
        return {"audio": audio.float().contiguous()}
