"""Reading and writing audio files: soundfile for I/O, torchaudio for resampling."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from audiogan.utils.files import atomic_write

# what find_audio_files lists: the formats soundfile (libsndfile) reads
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff")


class AudioFileError(ValueError):
    """A file that cannot be used as training audio; the message names the file and the reason."""


@functools.lru_cache(maxsize=16)
def _resampler(orig_freq: int, new_freq: int) -> torchaudio.transforms.Resample:
    return torchaudio.transforms.Resample(orig_freq, new_freq)


def resample(audio: torch.Tensor, orig_freq: int, new_freq: int) -> torch.Tensor:
    """Band-limited resampling along the last axis (kernels cached per rate pair)."""
    if orig_freq == new_freq:
        return audio
    return _resampler(int(orig_freq), int(new_freq))(audio)


def audio_info(path: str | os.PathLike):
    """The file's header (``samplerate``, ``frames``, ...) without decoding it."""
    try:
        return sf.info(str(path))
    except Exception as err:  # soundfile raises several types (LibsndfileError, RuntimeError, ...)
        raise AudioFileError(f"{path}: unreadable audio file ({err})") from err


def read_audio(path: str | os.PathLike, start: int = 0, frames: int = -1) -> tuple[torch.Tensor, int]:
    """Read a file (or ``frames`` of it from ``start``) as float32 mono [T] at its own rate; stereo is mixed
    down by averaging channels."""
    try:
        data, rate = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types (LibsndfileError, RuntimeError, ...)
        raise AudioFileError(f"{path}: unreadable audio file ({err})") from err
    return torch.from_numpy(np.ascontiguousarray(data.mean(axis=1))), int(rate)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int,
    min_samples: int = 1,
    silence_threshold: float = 1e-4,
) -> torch.Tensor:
    """Read, mix down and resample to ``sample_rate``; reject empty, silent and too-short files.

    Raises :class:`AudioFileError` naming the file, so a corpus scan can skip and count it.
    """
    audio, rate = read_audio(path)
    if audio.numel() == 0:
        raise AudioFileError(f"{path}: empty audio file (0 samples)")
    if not torch.isfinite(audio).all():
        raise AudioFileError(f"{path}: audio contains NaN or inf samples")
    audio = resample(audio, rate, sample_rate)
    if audio.abs().max().item() < silence_threshold:
        raise AudioFileError(f"{path}: silent (peak below {silence_threshold})")
    if audio.numel() < min_samples:
        raise AudioFileError(
            f"{path}: too short ({audio.numel()} samples at {sample_rate} Hz, need at least {min_samples})"
        )
    return audio


def save_audio(path: str | os.PathLike, audio: torch.Tensor, sample_rate: int) -> Path:
    """Write a mono waveform as 16-bit PCM WAV, atomically (temp file + rename)."""
    path = Path(path)
    samples = audio.detach().float().cpu().reshape(-1).clamp(-1.0, 1.0).numpy()
    with atomic_write(path) as tmp:
        sf.write(tmp, samples, sample_rate, subtype="PCM_16", format="WAV")
    return path


def find_audio_files(folder: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[Path]:
    """The audio files under ``folder``, recursively and sorted, leaving out any under ``exclude`` (e.g. an
    output folder inside the input one); a missing folder, or one with no audio, names the folder."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"audio folder not found: {folder}")
    exclude = Path(exclude).absolute() if exclude is not None else None
    files = [
        path
        for path in sorted(folder.rglob("*"))
        if path.suffix.lower() in AUDIO_SUFFIXES
        and path.is_file()
        and (exclude is None or exclude not in path.absolute().parents)
    ]
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {folder}")
    return files
