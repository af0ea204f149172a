"""Corrupting clean speech for denoising/dereverberation training: noise at a set SNR, reverberation.

Every random choice takes a ``torch.Generator``, so a dataset item can rebuild the same mix from its seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchaudio.functional import fftconvolve

EPS = 1e-12


def power(x: torch.Tensor) -> torch.Tensor:
    """Mean square over the whole clip."""
    return x.pow(2).mean()


def fit_length(x: torch.Tensor, length: int, offset: int = 0) -> torch.Tensor:
    """``length`` samples of ``x`` tiled end to end from ``offset``, so short noise loops seamlessly."""
    repeats = -(-(length + offset) // x.numel())
    return x.repeat(repeats)[offset : offset + length]


def mix_at_snr(clean: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``clean`` plus ``noise`` (tiled/cropped to its length) scaled so the mix has exactly ``snr_db``."""
    noise = fit_length(noise, clean.numel())
    scale = torch.sqrt(power(clean) / (power(noise).clamp_min(EPS) * 10 ** (snr_db / 10)))
    return clean + scale * noise


def _unit_rms(x: torch.Tensor) -> torch.Tensor:
    return x / power(x).sqrt().clamp_min(EPS)


def _coloured_noise(length: int, exponent: float, generator: torch.Generator | None) -> torch.Tensor:
    """White noise shaped in the frequency domain to a ``1/f**exponent`` power spectrum, DC removed."""
    spectrum = torch.fft.rfft(torch.randn(length, generator=generator))
    freqs = torch.fft.rfftfreq(length)
    gain = torch.zeros_like(freqs)
    gain[1:] = freqs[1:] ** (-exponent / 2)
    return _unit_rms(torch.fft.irfft(spectrum * gain, n=length))


def white_noise(length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return _unit_rms(torch.randn(length, generator=generator))


def pink_noise(length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """1/f power: -3 dB per octave."""
    return _coloured_noise(length, 1.0, generator)


def brown_noise(length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """1/f^2 power: -6 dB per octave."""
    return _coloured_noise(length, 2.0, generator)


def babble(
    utterances: Sequence[torch.Tensor], n_talkers: int, length: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Unit-RMS sum of ``n_talkers`` utterances (distinct when there are enough), each looped from a random
    offset and levelled to unit RMS so no talker dominates."""
    if not utterances:
        raise ValueError("babble needs at least one utterance")
    if n_talkers <= len(utterances):
        picks = torch.randperm(len(utterances), generator=generator)[:n_talkers]
    else:
        picks = torch.randint(len(utterances), (n_talkers,), generator=generator)
    mix = torch.zeros(length)
    for i in picks.tolist():
        talker = utterances[i]
        offset = int(torch.randint(talker.numel(), (1,), generator=generator))
        mix += _unit_rms(fit_length(talker, length, offset))
    return _unit_rms(mix)


GENERATED_NOISES = {"white": white_noise, "pink": pink_noise, "brown": brown_noise}


def synthetic_rir(
    rt60: float,
    sample_rate: int,
    length: int | None = None,
    direct_delay: int = 0,
    drr_db: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A unit direct path at ``direct_delay`` followed by exponentially decaying Gaussian noise.

    Energy falls 60 dB in ``rt60`` seconds (Sabine's exponential tail); the tail's total energy sits
    ``drr_db`` below the direct path. ``length`` defaults to the delay plus ``rt60``, where the tail
    reaches -60 dB.
    """
    if rt60 <= 0:
        raise ValueError(f"rt60 must be positive, got {rt60}")
    length = length or direct_delay + math.ceil(rt60 * sample_rate)
    if not 0 <= direct_delay < length:
        raise ValueError(f"direct_delay {direct_delay} must lie inside the RIR length {length}")
    n_tail = length - direct_delay - 1
    t = torch.arange(1, n_tail + 1) / sample_rate
    tail = torch.randn(n_tail, generator=generator) * 10 ** (-3 * t / rt60)  # amplitude: 60 dB / 2 in rt60
    tail *= math.sqrt(10 ** (-drr_db / 10) / float(power(tail) * n_tail + EPS))
    rir = torch.zeros(length)
    rir[direct_delay] = 1.0
    rir[direct_delay + 1 :] = tail
    return rir


def reverberate(clean: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """``clean`` convolved with ``rir``, aligned so the direct path (largest tap) stays in place, and trimmed
    to the clean length: the dry clean remains a sample-aligned target."""
    direct = int(rir.abs().argmax())
    wet = fftconvolve(clean, rir.to(clean.dtype))
    return wet[direct : direct + clean.numel()]
