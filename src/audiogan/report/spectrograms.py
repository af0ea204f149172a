"""Spectrogram images of a clip's audio, one colour scale for all of a clip's takes across runs: dB log-mels
from the WAV files themselves (one front-end for every family), colour-mapped pixel for pixel (no figure)."""

from __future__ import annotations

import functools
import os

import matplotlib
import numpy as np
import torch

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram
from audiogan.audio.io import read_audio
from audiogan.utils.images import plt
from audiogan.utils.threads import torch_threads

COLOURMAP = "magma"
# the colour scale of a clip spans this far below its loudest bin
RANGE_DB = 80.0


@functools.lru_cache(maxsize=8)
def _front_end(sample_rate: int) -> LogMelSpectrogram:
    return LogMelSpectrogram(AudioConfig(sample_rate=sample_rate, log="db", log_floor=1e-5))


def log_mels_db(paths: list[str | os.PathLike]) -> list[np.ndarray]:
    """dB log-mels [80, frames] of audio files, each at its own rate (1024-point STFT, hop 256)."""
    spectrograms = []
    # ops this small run faster on one thread, and do not slow to a crawl when other jobs share the cores
    with torch_threads(1), torch.inference_mode():
        for path in paths:
            audio, rate = read_audio(path)
            spectrograms.append(_front_end(rate)(audio[None])[0].numpy())
    return spectrograms


def shared_scale(spectrograms: list[np.ndarray]) -> tuple[float, float]:
    """(low, high) dB of one colour scale for all ``spectrograms``: their loudest bin, ``RANGE_DB`` below."""
    high = max(float(s.max()) for s in spectrograms)
    return high - RANGE_DB, high


def save_spectrogram(path: str | os.PathLike, spectrogram: np.ndarray, scale: tuple[float, float]) -> None:
    """One PNG pixel per bin and frame, low bins at the bottom, coloured on ``scale`` (low, high) dB."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    low, high = scale
    plt.imsave(
        path,
        spectrogram,
        cmap=COLOURMAP,
        vmin=low,
        vmax=high,
        origin="lower",
        pil_kwargs={"compress_level": 1},
    )


def colour_stops(count: int = 9) -> list[str]:
    """The colour map as ``count`` hex colours, low to high: the page draws its legend from them."""
    cmap = matplotlib.colormaps[COLOURMAP]
    return [matplotlib.colors.to_hex(cmap(i / (count - 1))) for i in range(count)]
