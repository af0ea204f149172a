"""Speech-enhancement scores of a denoised clip, each next to the same score of the noisy input.

Wide-band PESQ (ITU-T P.862.2, the ``pesq`` package), STOI (``pystoi``) and SI-SDR, all through
torchmetrics. SI-SDR is computed on zero-mean signals, as Le Roux et al. define it ("SDR - half-baked or well
done?", ICASSP 2019, arXiv 1811.02508): an inaudible DC offset (which a GAN stage can add) does not count
as distortion. Reporting the noisy input's scores beside the output's puts the improvement itself on the
dashboard (the noisy VCTK+DEMAND test set itself scores PESQ 1.97, as tabulated by SEGAN, Pascual et al.
2017, arXiv 1703.09452).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import pesq
import torch
from torchmetrics.functional.audio import (
    perceptual_evaluation_speech_quality,
    scale_invariant_signal_distortion_ratio,
    short_time_objective_intelligibility,
)

from audiogan.audio.io import resample

log = logging.getLogger(__name__)

NAMES = ("pesq", "stoi", "si_sdr", "pesq_noisy", "stoi_noisy", "si_sdr_noisy")
PESQ_RATE = 16_000  # wide-band PESQ is defined at 16 kHz only


class EnhancementMetrics:
    """``(enhanced, noisy, clean)`` waveforms, [T] or [B, T] at ``sample_rate`` -> ``pesq``, ``stoi`` and
    ``si_sdr`` of the output and ``pesq_noisy``, ``stoi_noisy``, ``si_sdr_noisy`` of the input, as 0-dim
    float32 CPU tensors, each the mean over the clips it could be computed for.

    Scores are computed on CPU in float32 (PESQ and STOI are numpy code), so bf16 or GPU inputs are fine.
    PESQ gets the clips resampled to 16 kHz when the model runs at another rate; STOI resamples to its own
    10 kHz internally and SI-SDR does not depend on the rate.

    A score a clip cannot have is left out for that clip with a logged warning naming the reason, never
    raised: validation must not stop on one odd clip. PESQ raises on a reference without detectable speech
    or shorter than 1/4 s, and on a silent or non-finite estimate; pystoi warns (and would return a
    placeholder 1e-5) when too few frames hold speech. An all-zero reference leaves the whole clip out, as
    every score against it is meaningless. A name no clip has is NaN, so every call returns the same keys
    (what DDP-synchronised logging and a monitored checkpoint metric need; average with NaNs ignored).
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate

    def __call__(
        self, enhanced: torch.Tensor, noisy: torch.Tensor, clean: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if not enhanced.shape == noisy.shape == clean.shape or clean.dim() not in (1, 2):
            raise ValueError(
                "enhanced, noisy and clean must have the same shape, [T] or [B, T]; got "
                f"{tuple(enhanced.shape)}, {tuple(noisy.shape)}, {tuple(clean.shape)}"
            )
        clips = torch.stack(
            [x.detach().float().cpu().reshape(-1, x.shape[-1]) for x in (enhanced, noisy, clean)]
        )
        scores: dict[str, list[torch.Tensor]] = {}
        for clip in range(clips.shape[1]):
            output, inp, ref = clips[:, clip]
            if not ref.any():
                log.warning("enhancement metrics: clip %d left out, its clean reference is all zeros", clip)
                continue
            for suffix, estimate in (("", output), ("_noisy", inp)):
                for name, value in self._scores(estimate, ref, suffix, clip).items():
                    scores.setdefault(name, []).append(value)
        return {
            name: torch.stack(scores[name]).mean() if name in scores else torch.tensor(float("nan"))
            for name in NAMES
        }

    def _scores(
        self, estimate: torch.Tensor, ref: torch.Tensor, suffix: str, clip: int
    ) -> dict[str, torch.Tensor]:
        """The scores (names ending in ``suffix``) of one [T] estimate that the backends accept."""
        pesq_pair = (resample(x, self.sample_rate, PESQ_RATE) for x in (estimate, ref))
        scores = {
            "pesq" + suffix: _guarded(_wideband_pesq, *pesq_pair),
            "stoi" + suffix: _guarded(short_time_objective_intelligibility, estimate, ref, self.sample_rate),
            "si_sdr" + suffix: _guarded(
                scale_invariant_signal_distortion_ratio, estimate, ref, zero_mean=True
            ),
        }
        for name, value in scores.items():
            if isinstance(value, Exception):
                log.warning("enhancement metrics: %s of clip %d left out: %s", name, clip, value)
        return {name: value for name, value in scores.items() if isinstance(value, torch.Tensor)}


def _guarded(metric: Callable[..., torch.Tensor], *args, **options) -> torch.Tensor | Exception:
    """``metric(*args, **options)`` as float32, or the exception of a backend that refuses the input.

    RuntimeWarnings count as refusals: pystoi signals too little speech with one, numpy a NaN level.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            return metric(*args, **options).float()
    except (pesq.PesqError, RuntimeWarning) as err:
        return err


def _wideband_pesq(estimate: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    try:
        return perceptual_evaluation_speech_quality(estimate, ref, PESQ_RATE, "wb")
    except ValueError as err:  # pesq levels the estimate by its power: NaN when silent or not finite
        raise pesq.PesqError(f"silent or non-finite estimate ({err})") from err
