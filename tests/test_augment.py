"""Noise mixing, coloured noises and synthetic reverberation measure what they claim."""

from __future__ import annotations

import math

import pytest
import torch

from audiogan.audio.augment import (
    babble,
    brown_noise,
    fit_length,
    mix_at_snr,
    pink_noise,
    power,
    reverberate,
    synthetic_rir,
    white_noise,
)
from audiogan.audio.length import crop_or_pad

RATE = 16_000


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> float:
    return 10 * math.log10(power(clean) / power(noisy - clean))


def spectral_slope_db_per_octave(x: torch.Tensor, low: float = 100.0, high: float = 4000.0) -> float:
    """Least-squares slope of the Welch power spectrum (dB) against log2 frequency over [low, high] Hz."""
    n_fft = 2048
    spec = torch.stft(x, n_fft, hop_length=n_fft // 2, window=torch.hann_window(n_fft), return_complex=True)
    psd = spec.abs().pow(2).mean(dim=1)
    freqs = torch.fft.rfftfreq(n_fft, 1 / RATE)
    band = (freqs >= low) & (freqs <= high)
    octaves, level = torch.log2(freqs[band]).double(), 10 * torch.log10(psd[band]).double()
    octaves = octaves - octaves.mean()
    return float((octaves * (level - level.mean())).sum() / octaves.pow(2).sum())


def measured_rt60(rir: torch.Tensor, sample_rate: int) -> float:
    """Schroeder backward integration, line fit of the -5..-35 dB decay, extrapolated to -60 dB."""
    energy = rir.double().pow(2).flip(0).cumsum(0).flip(0)
    edc = 10 * torch.log10(energy / energy[0])
    fit = (edc <= -5) & (edc >= -35)
    t = torch.arange(rir.numel(), dtype=torch.double)[fit] / sample_rate
    level = edc[fit]
    slope = ((t - t.mean()) * (level - level.mean())).sum() / (t - t.mean()).pow(2).sum()
    return float(-60 / slope)


@pytest.mark.parametrize("target", [-5.0, 0.0, 5.0, 12.5, 30.0])
def test_mix_at_snr_hits_the_target(target):
    clean = torch.sin(torch.arange(RATE) * 0.05) * 0.3
    noisy = mix_at_snr(clean, pink_noise(3000, gen(1)), target)  # shorter noise gets tiled
    assert noisy.shape == clean.shape
    assert abs(snr_db(clean, noisy) - target) < 0.1


def test_fit_length_tiles_and_crops():
    x = torch.arange(4.0)
    assert fit_length(x, 6, offset=3).tolist() == [3, 0, 1, 2, 3, 0]
    assert fit_length(x, 2).tolist() == [0, 1]


def test_crop_or_pad_crops_from_start_and_zero_pads_the_end():
    x = torch.arange(1.0, 7.0).repeat(2, 1)  # [2, 6]: the last axis is the one fitted
    assert crop_or_pad(x, 3, start=2).tolist() == [[3, 4, 5]] * 2
    assert crop_or_pad(x, 4, start=4).tolist() == [[5, 6, 0, 0]] * 2
    assert crop_or_pad(x, 8).tolist() == [[1, 2, 3, 4, 5, 6, 0, 0]] * 2
    assert crop_or_pad(x, 2, start=9).tolist() == [[0, 0]] * 2  # past the end: silence


@pytest.mark.parametrize(("noise", "slope"), [(white_noise, 0.0), (pink_noise, -3.01), (brown_noise, -6.02)])
def test_noise_colours_have_their_spectral_slopes(noise, slope):
    x = noise(4 * RATE, gen(2))
    assert x.shape == (4 * RATE,)
    assert abs(float(power(x)) - 1) < 1e-4
    assert abs(spectral_slope_db_per_octave(x) - slope) < 0.5


def test_noises_are_seeded():
    assert torch.equal(pink_noise(1000, gen(3)), pink_noise(1000, gen(3)))
    assert not torch.equal(pink_noise(1000, gen(3)), pink_noise(1000, gen(4)))


def test_babble_sums_talkers_at_unit_rms():
    talkers = [torch.sin(torch.arange(500) * f) for f in (0.1, 0.2, 0.3)]
    mix = babble(talkers, n_talkers=2, length=2000, generator=gen(0))
    assert mix.shape == (2000,)
    assert abs(float(power(mix)) - 1) < 1e-4
    assert torch.equal(mix, babble(talkers, 2, 2000, gen(0)))
    assert babble(talkers, 5, 100, gen(0)).shape == (100,)  # more talkers than utterances: with replacement


@pytest.mark.parametrize("rt60", [0.2, 0.5, 1.0])
def test_synthetic_rir_decays_at_rt60(rt60):
    rir = synthetic_rir(rt60, RATE, direct_delay=40, generator=gen(5))
    assert rir[40] == 1.0 and rir[:40].abs().sum() == 0
    assert abs(measured_rt60(rir, RATE) - rt60) / rt60 < 0.1


def test_synthetic_rir_direct_to_reverberant_ratio():
    rir = synthetic_rir(0.4, RATE, drr_db=6.0, generator=gen(6))
    assert abs(10 * math.log10(1 / float(rir[1:].pow(2).sum())) - 6.0) < 1e-3


def test_reverberate_with_unit_impulse_is_identity():
    clean = torch.randn(1000, generator=gen(7))
    assert torch.allclose(reverberate(clean, torch.tensor([1.0])), clean, atol=1e-5)
    delayed = torch.zeros(64)
    delayed[10] = 1.0
    assert torch.allclose(reverberate(clean, delayed), clean, atol=1e-5)  # aligned to the direct path


def test_reverberation_fills_the_tail():
    clean = torch.zeros(RATE)
    clean[:4000] = torch.randn(4000, generator=gen(8))
    wet = reverberate(clean, synthetic_rir(0.6, RATE, direct_delay=20, generator=gen(9)))
    assert wet.shape == clean.shape
    assert power(wet[6000:]) > 1e-3 * power(wet[:4000])
    assert power(clean[6000:]) == 0
