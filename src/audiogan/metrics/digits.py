"""SC09 evaluation of WaveGAN / SpecGAN: a spoken-digit classifier, Inception Score and Fréchet distance.

The classifier follows the one shipped with the SpecGAN code (``eval/inception``): a 128-bin log-mel of a
16,384-sample clip at 16 kHz, 4 x [batch norm, conv 5x5, ReLU, max-pool 2], flattened, batch norm, dense
to 10 logits. The head flattens (8 x 8 x channels features for 128 mels) rather than pooling, as the
original does, so inputs must be exactly 16,384 samples: :func:`fit_clip` makes them so.
The Fréchet distance is computed on the flattened, normalised activations that feed the dense layer.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torchaudio
from torch import nn

from audiogan.audio.length import crop_or_pad
from audiogan.utils.tensor_files import load_tensor_file

SAMPLE_RATE = 16_000
CLIP_SAMPLES = 16_384
N_FFT, HOP = 1024, 128
F_MIN, F_MAX = 40.0, 7800.0
LOG_EPS = 1e-6
BN_EPS = 1e-3  # TensorFlow's default, used by the original classifier
N_BLOCKS = 4


def fit_clip(audio: torch.Tensor, samples: int = CLIP_SAMPLES) -> torch.Tensor:
    """The first ``samples`` along the last axis, zero-padded at the end: SC09's first slice with pad_end."""
    return crop_or_pad(audio, samples)


class DigitLogMel(nn.Module):
    """Log-mel front-end of the classifier: STFT 1024 / hop 128 with TF's ``pad_end``, 40-7800 Hz mels.

    ``pad_end`` frames without centring and zero-pads the end so that T samples give ceil(T / 128)
    frames (128 for a 16,384-sample clip). Mel triangles are HTK-scale and unnormalised, as
    ``tf.signal.linear_to_mel_weight_matrix``; the log is natural, of (mel magnitude + 1e-6).
    """

    def __init__(self, n_mels: int = 128):
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)  # periodic, as TF's
        fbank = torchaudio.functional.melscale_fbanks(
            n_freqs=N_FFT // 2 + 1,
            f_min=F_MIN,
            f_max=F_MAX,
            n_mels=n_mels,
            sample_rate=SAMPLE_RATE,
            norm=None,
            mel_scale="htk",
        )
        self.register_buffer("mel_basis", fbank.T.contiguous(), persistent=False)  # [n_mels, n_freqs]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel [B, 1, n_mels, ceil(T / 128)] of 16 kHz audio [B, T] or [B, 1, T]."""
        if audio.dim() == 3:
            audio = audio.squeeze(1)
        with torch.autocast(audio.device.type, enabled=False):
            frames = -(-audio.shape[-1] // HOP)
            audio = nn.functional.pad(audio.float(), (0, (frames - 1) * HOP + N_FFT - audio.shape[-1]))
            spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=False, return_complex=True)
            return torch.log(self.mel_basis @ spec.abs() + LOG_EPS).unsqueeze(1)


class DigitClassifier(nn.Module):
    """The SC09 "inception" classifier; ``channels=128`` is the original, smaller ones train fast on CPU.

    The first batch norm is per mel bin (TF normalised the last axis of its [B, time, mel] input); the
    others per channel, and per feature after flattening.
    """

    val_accuracy: float | None = None  # set when trained or loaded by audiogan.commands.digit_classifier

    def __init__(self, n_mels: int = 128, channels: int = 128, n_classes: int = 10):
        super().__init__()
        if n_mels < 2**N_BLOCKS:
            raise ValueError(f"n_mels must be at least {2**N_BLOCKS} (one bin left after pooling): {n_mels}")
        self.frontend = DigitLogMel(n_mels)
        self.input_norm = nn.BatchNorm1d(n_mels, eps=BN_EPS)
        layers: list[nn.Module] = []
        for i in range(N_BLOCKS):
            if i > 0:
                layers.append(nn.BatchNorm2d(channels, eps=BN_EPS))
            layers += [
                nn.Conv2d(1 if i == 0 else channels, channels, 5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
        self.blocks = nn.Sequential(*layers)
        frames = CLIP_SAMPLES // HOP
        self.feature_dim = channels * (n_mels >> N_BLOCKS) * (frames >> N_BLOCKS)
        self.feature_norm = nn.BatchNorm1d(self.feature_dim, eps=BN_EPS)
        self.head = nn.Linear(self.feature_dim, n_classes)

    def penultimate(self, audio: torch.Tensor) -> torch.Tensor:
        """The pre-logit activations [B, feature_dim] of clips [B, 16384]: the features for FID."""
        if audio.shape[-1] != CLIP_SAMPLES:
            raise ValueError(
                f"the digit classifier takes clips of {CLIP_SAMPLES} samples, got {audio.shape[-1]} "
                "(use fit_clip to take the first slice, zero-padded)"
            )
        mel = self.frontend(audio)
        x = self.input_norm(mel.squeeze(1)).unsqueeze(1)
        return self.feature_norm(self.blocks(x).flatten(1))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Logits [B, n_classes] of 16 kHz clips [B, 16384] or [B, 1, 16384]."""
        return self.head(self.penultimate(audio))


@torch.no_grad()
def classify(
    model: DigitClassifier, audio: torch.Tensor, batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities [N, n_classes] and penultimate features [N, D] of clips [N, 16384], on the CPU.

    Runs in eval mode (running batch-norm statistics) and restores the model's mode afterwards.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probabilities, features = [], []
    for batch in audio.split(batch_size):
        feats = model.penultimate(batch.to(device))
        probabilities.append(model.head(feats).softmax(-1).cpu())
        features.append(feats.cpu())
    model.train(was_training)
    return torch.cat(probabilities), torch.cat(features)


def inception_splits(clips: int, split_clips: int = 50) -> int:
    """How many parts to score ``clips`` in: 10 as the original protocol (which scored 50,000 clips), fewer so
    that each part holds at least ``split_clips``. A part of k clips cannot score above k, so 18 held-out
    clips in 10 parts of 2 would score at most 2 however well they are classified."""
    return max(1, min(10, clips // split_clips))


def inception_score(probabilities: torch.Tensor | np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Mean and std over ``splits`` parts of exp(E_x KL(p(y|x) || p(y))), p(y) the part's marginal.

    Parts are consecutive and differ in size by at most one when N is not a multiple of ``splits``.
    Ranges from 1 (every clip gets the same prediction) to n_classes (confident and balanced).
    """
    p = torch.as_tensor(probabilities, dtype=torch.float64)
    if p.dim() != 2 or len(p) < splits:
        raise ValueError(f"need probabilities [N, classes] with N >= splits={splits}, got {tuple(p.shape)}")
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores)
    return scores.mean().item(), scores.std(unbiased=False).item()


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D] (FID on the given features).

    ||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)). The trace of the root is taken as the sum of
    square roots of the eigenvalues of C_a^(1/2) C_b C_a^(1/2), a symmetric matrix with the same spectrum,
    so there is no complex matrix square root and no imaginary residue to discard. Float64 throughout.
    """
    a = torch.as_tensor(features_a).detach().double()
    b = torch.as_tensor(features_b).detach().double().to(a.device)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(
            f"need two feature sets [N >= 2, D] of one D, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))
    root_a = _psd_sqrt(cov_a)
    product = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((product + product.T) / 2).clamp_min(0).sqrt().sum()
    distance = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(distance.item(), 0.0)  # rounding can dip below the true minimum of 0


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def classifier_from_cache(cached: dict, device: str | None = None) -> DigitClassifier:
    """A classifier from its cache dict (settings, state dict, val accuracy), in eval mode."""
    settings, state = cached["settings"], cached["state_dict"]
    model = DigitClassifier(settings["n_mels"], settings["channels"], n_classes=state["head.weight"].shape[0])
    model.load_state_dict(state)
    model.val_accuracy = cached["val_accuracy"]
    return model.to(device or default_device()).eval()


def load_digit_classifier(cache_path: str | os.PathLike, device: str | None = None) -> DigitClassifier:
    """The classifier cached at ``cache_path`` (eval mode, ``val_accuracy`` set), for scoring audio."""
    return classifier_from_cache(load_tensor_file(cache_path), device)
