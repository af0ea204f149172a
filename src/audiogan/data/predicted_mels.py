"""Mels predicted by a TTS model for the recordings of a corpus, as HiFi-GAN's fine-tuning reads them
(https://github.com/jik876/hifi-gan, ``--fine_tuning True --input_mels_dir``): one ``<utterance>.npy`` of
shape [n_mels, frames] (or [1, n_mels, frames]) per wav, teacher-forced so frame i covers samples
i * hop ... (i + 1) * hop of the wav, in the vocoder's log-mel scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from audiogan.data.corpora.base import Utterance

BESIDE = "beside"  # each wav's .npy next to it; else a folder holding <wav stem>.npy


def mel_path(utterance: Utterance, where: str) -> Path:
    """Where an utterance's predicted mel is: beside its wav (``where="beside"``) or in folder ``where``."""
    if where == BESIDE:
        return utterance.path.with_suffix(".npy")
    return Path(where) / f"{utterance.path.stem}.npy"


def load_predicted_mel(path: Path) -> torch.Tensor:
    """The predicted mel [n_mels, frames] at ``path``; a missing file or another shape names the file."""
    if not path.is_file():
        raise FileNotFoundError(f"predicted mel not found: {path} (one <wav stem>.npy per training wav)")
    mel = np.load(path, allow_pickle=False)
    if mel.ndim == 3 and mel.shape[0] == 1:
        mel = mel[0]
    if mel.ndim != 2:
        raise ValueError(f"{path}: a predicted mel has shape [n_mels, frames]; found {list(mel.shape)}")
    return torch.from_numpy(mel.astype(np.float32))


def aligned_segment(
    mel: torch.Tensor, audio: torch.Tensor, frames: int, hop_length: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random ``frames``-frame crop of ``mel`` and the ``frames * hop_length`` samples of ``audio`` it
    covers; zero-padded (mel and audio alike) where the utterance is shorter."""
    start = int(rng.integers(0, mel.shape[-1] - frames + 1)) if mel.shape[-1] >= frames else 0
    mel = mel[:, start : start + frames]
    audio = audio[start * hop_length : (start + frames) * hop_length]
    mel = torch.nn.functional.pad(mel, (0, frames - mel.shape[-1]))
    audio = torch.nn.functional.pad(audio, (0, frames * hop_length - audio.shape[-1]))
    return mel, audio
