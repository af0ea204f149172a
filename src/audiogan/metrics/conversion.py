"""Voice-conversion metric: mel-cepstral distortion (MCD) between a converted and a reference mel."""

from __future__ import annotations

import math

import torch

from audiogan.audio.alignment import dtw_path, mel_cepstrum

# MCD(dB) = (10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d)^2) = this constant times the cepstral distance
MCD_CONSTANT = 10.0 * math.sqrt(2.0) / math.log(10.0)


def mel_cepstral_distortion(
    converted: torch.Tensor, reference: torch.Tensor, n_coeffs: int = 35, align: bool = True
) -> torch.Tensor:
    """MCD in dB between two dB log-mels [n_mels, frames]; 0 for identical inputs, lower is better.

    Both mels become cepstra c0 .. c(n_coeffs - 1) (``mel_cepstrum``: dB converted to the natural log of
    amplitude, then a 1/N-scaled DCT-II; 35 coefficients by default), c0 (overall loudness) is excluded, and
    the per-frame distortion (10 * sqrt(2) / ln 10) * ||c - c'|| over c1 .. c(n_coeffs - 1) is averaged over
    frame pairs. With ``align`` the pairs are the DTW path between the two cepstral sequences, so lengths may
    differ and a time warp of either input changes little; without it the mels must be of equal length and
    frame t is paired with frame t. Trim leading and trailing silence first (``trim_silence``), as is
    standard, or the silent frames dilute the mean.

    This is the MFCC-style MCD on log-mels, not the WORLD/SPTK mel-cepstrum one of the VC papers: use it to
    compare runs of this framework, not against published numbers.
    """
    c = mel_cepstrum(converted.double(), n_coeffs)[1:]
    c_ref = mel_cepstrum(reference.double(), n_coeffs)[1:]
    if align:
        ix, iy = dtw_path(c, c_ref)
        c, c_ref = c[:, ix], c_ref[:, iy]
    elif c.shape != c_ref.shape:
        raise ValueError(
            f"mel_cepstral_distortion without align needs equal shapes, got {tuple(converted.shape)} "
            f"and {tuple(reference.shape)}"
        )
    return MCD_CONSTANT * (c - c_ref).norm(dim=0).mean()
