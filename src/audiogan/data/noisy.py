"""Noisy/clean pairs for speech enhancement: mixed on the fly from clean speech, or read as recorded pairs.

Items are ``{"clean": [T], "noisy": [T]}`` float32. Training keys are ``(index, seed)`` pairs from
:class:`~audiogan.data.sampling.SeededSampler`, so every crop, SNR, noise and room is reproducible;
plain int keys (what validation loaders pass) give a mix fixed by the index alone.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import torch
from torch.utils.data import Dataset

from audiogan.audio.augment import (
    GENERATED_NOISES,
    babble,
    fit_length,
    mix_at_snr,
    reverberate,
    synthetic_rir,
)
from audiogan.audio.io import (
    AudioFileError,
    audio_info,
    find_audio_files,
    load_audio,
    read_audio,
    resample,
)
from audiogan.audio.length import crop_or_pad
from audiogan.data.corpora.base import Utterance
from audiogan.data.datasets import AudioSource

log = logging.getLogger(__name__)

NOISE_KINDS = (*GENERATED_NOISES, "babble")

AudioFiles = str | os.PathLike | Sequence[str | os.PathLike] | None
T = TypeVar("T")


def audio_files(source: AudioFiles) -> list[Path]:
    """A folder (searched recursively) or an explicit list of files; ``None`` means none."""
    if source is None:
        return []
    if isinstance(source, (str, os.PathLike)):
        return find_audio_files(source)
    return [Path(p) for p in source]


def _uniform(bounds: Sequence[float], generator: torch.Generator) -> float:
    lo, hi = bounds
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(high, (), generator=generator))


def noise_excerpt(path: Path, sample_rate: int, length: int, position: float) -> torch.Tensor:
    """``length`` samples of a noise file at ``sample_rate``, starting at ``position`` (0..1) of the file.

    Only the excerpt is decoded (and resampled), so hours of noise recordings cost no memory; a file shorter
    than ``length`` is decoded whole and looped. Raises :class:`AudioFileError` naming an unusable file.
    """
    info = audio_info(path)
    frames = math.ceil(length * info.samplerate / sample_rate)  # at the file's own rate
    if info.frames <= frames:
        audio = load_audio(path, sample_rate)
        return fit_length(audio, length, int(position * audio.numel()))
    start = int(position * (info.frames - frames + 1))
    audio, rate = read_audio(path, start, frames)
    audio = resample(audio, rate, sample_rate)
    if not torch.isfinite(audio).all():
        raise AudioFileError(f"{path}: audio contains NaN or inf samples")
    return fit_length(audio, length)


class FilePool:
    """Noise or RIR files drawn at random, where an unusable file is skipped with one warning naming it.

    A draw that lands on a bad file moves on to the next file of the list, so an item gets the same file
    whether or not this process has met the bad one before (data-loader workers each find it on their own,
    and each warns once). ``skipped`` lists the bad files met so far.
    """

    def __init__(self, files: list[Path], what: str):
        self.files, self.what = files, what
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def __bool__(self) -> bool:
        return bool(self.files)

    @property
    def skipped(self) -> list[Path]:
        return [self.files[i] for i in sorted(self._bad)]

    def read(self, generator: torch.Generator, reader: Callable[[Path], T]) -> T:
        """``reader`` of a file drawn with ``generator`` (one draw, always), or of the next usable one."""
        first = _randint(len(self.files), generator)
        for step in range(len(self.files)):
            i = (first + step) % len(self.files)
            if i in self._bad:
                continue
            try:
                return reader(self.files[i])
            except AudioFileError as err:
                self._bad.add(i)
                log.warning(
                    "skipping %s file %s (%d of %d skipped)", self.what, err, len(self._bad), len(self.files)
                )
        raise RuntimeError(f"none of the {len(self.files)} {self.what} files is usable, e.g. {self.files[0]}")


class NoisyMixtures(Dataset):
    """Clean utterances corrupted on the fly: optional reverberation, then noise at a random SNR.

    Noise comes from ``noise_files`` (a folder or a list) when given, else from ``noise_kinds``
    (``white``/``pink``/``brown`` generated, ``babble`` summed from 3..6 other utterances of the set).
    Rooms come from ``rir_files`` when given, else :func:`~audiogan.audio.augment.synthetic_rir` with RT60
    and direct-to-reverberant ratio drawn from ``rt60_range`` / ``drr_range``; a clip is reverberated with
    ``reverb_probability``. The SNR is measured against the (reverberated) speech in the mix. Noise files
    are read as excerpts (:func:`noise_excerpt`, nothing kept in memory); an unusable noise or RIR file is
    skipped with a warning naming it (:class:`FilePool`), never a crash mid-epoch.

    ``"clean"`` is the *dry* clean segment, sample-aligned with the direct path of ``"noisy"``, so one
    model learns denoising and dereverberation together. Both are scaled by the same factor so the louder
    one peaks at ``peak``. ``segment_length=None`` gives whole clips (evaluation, batch size 1).
    Int keys (validation/test loaders) always give the same mix of an index, set by ``seed``.
    """

    def __init__(
        self,
        utterances: list[Utterance],
        sample_rate: int,
        segment_length: int | None,
        snr_range: Sequence[float] = (0.0, 20.0),
        noise_files: AudioFiles = None,
        noise_kinds: Sequence[str] = NOISE_KINDS,
        babble_talkers: Sequence[int] = (3, 6),
        rir_files: AudioFiles = None,
        rt60_range: Sequence[float] = (0.2, 0.8),
        drr_range: Sequence[float] = (-6.0, 18.0),
        reverb_probability: float = 0.0,
        seed: int = 0,
        peak: float | None = 0.9,
        cache_in_memory: bool = False,
    ):
        unknown = set(noise_kinds) - set(NOISE_KINDS)
        if unknown or not noise_kinds:
            raise ValueError(
                f"noise_kinds must be a non-empty subset of {NOISE_KINDS}, got {list(noise_kinds)}"
            )
        self.source = AudioSource(utterances, sample_rate, cache_in_memory)
        self.sample_rate = sample_rate
        self.segment_length = int(segment_length) if segment_length else None
        self.snr_range, self.rt60_range, self.drr_range = map(tuple, (snr_range, rt60_range, drr_range))
        self.noise_files = FilePool(audio_files(noise_files), "noise")
        self.rir_files = FilePool(audio_files(rir_files), "room impulse response")
        self.noise_kinds, self.babble_talkers = tuple(noise_kinds), tuple(babble_talkers)
        self.reverb_probability = reverb_probability
        self.seed, self.peak = seed, peak

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, item_seed = key if isinstance(key, tuple) else (key, None)
        if item_seed is None:
            item_seed = self.seed * 1_000_003 + index
        generator = torch.Generator().manual_seed(item_seed)
        clean = self.source.load(index)
        if self.segment_length is not None:
            start = _randint(max(clean.numel() - self.segment_length, 0) + 1, generator)
            clean = crop_or_pad(clean, self.segment_length, start)
        speech = clean
        if float(torch.rand((), generator=generator)) < self.reverb_probability:
            speech = reverberate(clean, self._rir(generator))
        noisy = mix_at_snr(
            speech, self._noise(index, clean.numel(), generator), _uniform(self.snr_range, generator)
        )
        if self.peak is not None:
            scale = self.peak / torch.maximum(noisy.abs().max(), clean.abs().max()).clamp_min(1e-8)
            clean, noisy = clean * scale, noisy * scale
        return {"clean": clean.float().contiguous(), "noisy": noisy.float().contiguous()}

    def _noise(self, index: int, length: int, generator: torch.Generator) -> torch.Tensor:
        if self.noise_files:
            position = float(torch.rand((), generator=generator))
            return self.noise_files.read(
                generator, lambda path: noise_excerpt(path, self.sample_rate, length, position)
            )
        kind = self.noise_kinds[_randint(len(self.noise_kinds), generator)]
        if kind != "babble":
            return GENERATED_NOISES[kind](length, generator)
        others = [i for i in range(len(self.source)) if i != index] or [index]
        n_talkers = self.babble_talkers[0] + _randint(
            self.babble_talkers[1] - self.babble_talkers[0] + 1, generator
        )
        picks = torch.randperm(len(others), generator=generator)[:n_talkers].tolist()
        return babble([self.source.load(others[i]) for i in picks], n_talkers, length, generator)

    def _unit_rir(self, path: Path) -> torch.Tensor:
        rir = load_audio(path, self.sample_rate)  # rejects silent files, so the division is safe
        return rir / rir[rir.abs().argmax()]

    def _rir(self, generator: torch.Generator) -> torch.Tensor:
        """A recorded RIR scaled to a unit direct path, like the synthetic ones, or a synthetic room."""
        if self.rir_files:
            return self.rir_files.read(generator, self._unit_rir)
        rt60, drr = _uniform(self.rt60_range, generator), _uniform(self.drr_range, generator)
        return synthetic_rir(rt60, self.sample_rate, drr_db=drr, generator=generator)


class PairedClips(Dataset):
    """Recorded (clean, noisy) pairs, e.g. VCTK+DEMAND: each utterance's ``twin`` is its noisy version.

    ``(index, seed)`` keys (training) give an aligned random crop of ``segment_length`` (zero-padded when
    short); int keys give at most the first ``segment_length`` samples (fixed validation clips), or the whole
    pair when ``segment_length`` is None (testing).
    """

    def __init__(
        self,
        utterances: list[Utterance],
        sample_rate: int,
        segment_length: int | None = None,
        cache_in_memory: bool = False,
    ):
        missing = [u.path for u in utterances if u.twin is None]
        if missing:
            raise ValueError(f"PairedClips needs utterances with a noisy twin; {missing[0]} has none")
        self.clean = AudioSource(utterances, sample_rate, cache_in_memory)
        self.noisy = AudioSource([replace(u, path=u.twin) for u in utterances], sample_rate, cache_in_memory)
        self.segment_length = int(segment_length) if segment_length else None

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, item_seed = key if isinstance(key, tuple) else (key, None)
        clean, noisy = self.clean.load(index), self.noisy.load(index)
        length = min(clean.numel(), noisy.numel())  # resampling may leave them a sample apart
        clean, noisy = clean[:length], noisy[:length]
        if self.segment_length is not None and item_seed is not None:
            generator = torch.Generator().manual_seed(item_seed)
            start = _randint(max(length - self.segment_length, 0) + 1, generator)
            clean, noisy = (crop_or_pad(x, self.segment_length, start) for x in (clean, noisy))
        elif self.segment_length is not None:
            clean, noisy = clean[: self.segment_length], noisy[: self.segment_length]
        return {"clean": clean.float().contiguous(), "noisy": noisy.float().contiguous()}
