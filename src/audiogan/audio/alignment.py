"""Time alignment of parallel utterances: silence trimming, mel cepstra and dynamic time warping.

Two speakers read the same sentence at different speeds, so a frame-wise loss or distance between their mels
first needs the frames matched. The usual recipe for parallel VC data (e.g. the DTWAligner of nnmnkwii,
https://github.com/r9y9/nnmnkwii): trim the silence at both ends, then align on mel cepstra without c0,
which ignores the speakers' loudness difference. Mels here are dB log-mels [n_mels, frames].
"""

from __future__ import annotations

import math

import numpy as np
import torch


def voiced_bounds(mel: torch.Tensor, top_db: float = 60.0) -> tuple[int, int]:
    """(start, end) of the frames from the first to the last one within ``top_db`` of the loudest.

    A frame's level is its loudest mel bin, in dB; the threshold is relative to the utterance's loudest
    frame (librosa.effects.trim's convention and default of 60 dB), so it does not depend on the gain.
    """
    level = mel.amax(dim=-2)
    voiced = torch.nonzero(level >= level.max() - top_db).squeeze(-1)
    return int(voiced[0]), int(voiced[-1]) + 1


def trim_silence(mel: torch.Tensor, top_db: float = 60.0) -> torch.Tensor:
    """``mel`` [n_mels, frames] without the leading and trailing frames quieter than the loudest by more
    than ``top_db`` dB; silence inside the utterance is kept."""
    start, end = voiced_bounds(mel, top_db)
    return mel[..., start:end]


def mel_cepstrum(mel: torch.Tensor, n_coeffs: int = 35) -> torch.Tensor:
    """Cepstra c0 .. c(n_coeffs - 1) [..., n_coeffs, frames] of a dB log-mel [..., n_mels, frames].

    dB is first converted to the natural log of amplitude, ln A = dB * ln(10) / 20 (the same for power dB,
    10 log10 P = 20 log10 A). Then a DCT-II over the N mel bins, scaled by 1 / N:
    c_m = (1 / N) * sum_k ln A_k * cos(pi * m * (k + 1/2) / N), the coefficients of the cosine series
    ln A = c0 + 2 * sum_m c_m cos(m w) sampled at the band centres. That is the cepstrum convention behind
    the MCD constant 10 * sqrt(2) / ln(10); an orthonormal DCT would inflate every c_m (m > 0) by sqrt(2N).
    35 coefficients match the 35-dimensional mel-cepstra of the VC literature (e.g. CycleGAN-VC2).
    """
    n_mels = mel.shape[-2]
    if not 1 <= n_coeffs <= n_mels:
        raise ValueError(
            f"mel_cepstrum n_coeffs must be in [1, {n_mels}] for {n_mels} mel bins, got {n_coeffs}"
        )
    k = torch.arange(n_mels, dtype=mel.dtype, device=mel.device)
    m = torch.arange(n_coeffs, dtype=mel.dtype, device=mel.device)
    basis = torch.cos(math.pi * m[:, None] * (k[None, :] + 0.5) / n_mels) / n_mels
    return basis @ (mel * (math.log(10.0) / 20.0))


def _accumulated_cost(cost: np.ndarray) -> np.ndarray:
    """DTW accumulated cost with steps (1, 1), (1, 0), (0, 1) of equal weight, one vectorised pass per row.

    Within row i, acc[i, j] = cost[i, j] + min(reach[j], acc[i, j - 1]), where reach[j] is the best of the
    diagonal and vertical predecessors. Unrolled, acc[i, j] = S[j] + min over k <= j of (reach[k] - S[k - 1])
    with S the running sum of the row's costs, which is a cumulative minimum: no loop over j.
    """
    acc = np.empty_like(cost)
    acc[0] = np.cumsum(cost[0])
    for i in range(1, cost.shape[0]):
        reach = acc[i - 1].copy()
        np.minimum(reach[1:], acc[i - 1, :-1], out=reach[1:])
        running = np.cumsum(cost[i])
        acc[i] = running + np.minimum.accumulate(reach - np.concatenate(([0.0], running[:-1])))
    return acc


def dtw_path(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Warping path between feature sequences x [dim, N] and y [dim, M] (Euclidean frame distance).

    Returns index tensors (ix, iy) of equal length L (max(N, M) <= L <= N + M - 1): x frame ix[l] is
    matched with y frame iy[l]. The path runs from (0, 0) to (N - 1, M - 1), both indices non-decreasing,
    each step advancing one or both; it minimises the summed distance. Time and memory O(N * M).
    """
    cost = torch.cdist(x.T.double()[None], y.T.double()[None])[0].cpu().numpy()
    acc = _accumulated_cost(cost)
    i, j = cost.shape[0] - 1, cost.shape[1] - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            diagonal, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diagonal <= up and diagonal <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        path.append((i, j))
    ix, iy = torch.tensor(path[::-1], device=x.device).T.contiguous()
    return ix, iy


def align(
    source: torch.Tensor, target: torch.Tensor, n_coeffs: int = 35, to_target_timing: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-align two dB mels [n_mels, frames] of the same sentence; returns (source, target) of equal length.

    The path comes from ``dtw_path`` on their mel cepstra c1 .. c(n_coeffs - 1) (c0, the loudness, left
    out). With ``to_target_timing`` the target is returned unchanged and each target frame gets the first
    source frame matched to it: a generator trained on the pair learns to produce natural target timing
    (and the discriminator sees real, unwarped targets). Otherwise both are indexed along the whole path,
    as nnmnkwii's DTWAligner does, which repeats frames of either side.
    """
    ix, iy = dtw_path(mel_cepstrum(source, n_coeffs)[1:], mel_cepstrum(target, n_coeffs)[1:])
    if to_target_timing:
        first = torch.searchsorted(iy, torch.arange(target.shape[-1], device=iy.device))
        return source[..., ix[first]], target
    return source[..., ix], target[..., iy]
