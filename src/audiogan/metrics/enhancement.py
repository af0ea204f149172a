"""Speech-enhancement scores of a denoised clip, each next to the same score of the noisy input.

Wide-band PESQ (ITU-T P.862.2, the ``pesq`` package), STOI (``pystoi``) and SI-SDR, all through
torchmetrics. Reporting the noisy input's scores beside the output's puts the improvement itself on the
dashboard (the VCTK+DEMAND noisy test set scores PESQ 1.97, ANCHORS 6.1).
"""

from __future__ import annotations

import logging

import pesq
import torch
from torchmetrics.functional.audio import (
    perceptual_evaluation_speech_quality,
    scale_invariant_signal_distortion_ratio,
    short_time_objective_intelligibility,
)

from audiogan.audio.io import resample

log = logging.getLogger(__name__)

PESQ_RATE = 16_000  # wide-band PESQ is defined at 16 kHz only


class EnhancementMetrics:
    """``(enhanced, noisy, clean)`` waveforms [T] at ``sample_rate`` -> ``{pesq, stoi, si_sdr}`` and
    the same names with ``_noisy`` for the input.

    Scores are computed on CPU in float32 (PESQ and STOI are numpy code). PESQ gets 16 kHz audio
    (resampled when the model runs at another rate). PESQ refuses some clips (e.g. no speech detected in
    the reference); those clips lose their PESQ pair with a warning instead of stopping validation.
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate

    def __call__(
        self, enhanced: torch.Tensor, noisy: torch.Tensor, clean: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        enhanced, noisy, clean = (x.detach().float().cpu().reshape(-1) for x in (enhanced, noisy, clean))
        length = min(enhanced.numel(), noisy.numel(), clean.numel())
        enhanced, noisy, clean = enhanced[:length], noisy[:length], clean[:length]
        scores: dict[str, torch.Tensor] = {}
        for suffix, estimate in (("", enhanced), ("_noisy", noisy)):
            scores[f"stoi{suffix}"] = short_time_objective_intelligibility(estimate, clean, self.sample_rate)
            scores[f"si_sdr{suffix}"] = scale_invariant_signal_distortion_ratio(estimate, clean)
        pesq_scores = self._pesq(enhanced, noisy, clean)
        return {**pesq_scores, **scores}

    def _pesq(
        self, enhanced: torch.Tensor, noisy: torch.Tensor, clean: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        enhanced, noisy, clean = (resample(x, self.sample_rate, PESQ_RATE) for x in (enhanced, noisy, clean))
        try:
            return {
                "pesq": perceptual_evaluation_speech_quality(enhanced, clean, PESQ_RATE, "wb"),
                "pesq_noisy": perceptual_evaluation_speech_quality(noisy, clean, PESQ_RATE, "wb"),
            }
        except pesq.PesqError as err:
            log.warning("PESQ left out for a clip of %.2f s: %s", clean.numel() / PESQ_RATE, err)
            return {}
