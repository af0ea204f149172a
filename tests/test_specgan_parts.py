"""SpecGAN parts: networks against the original's sizes, WGAN-GP, features, moments, inversion, shift."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from audiogan.audio.spectrogram import (
    SAMPLE_RATE,
    SLICE_LENGTH,
    FrequencyMoments,
    LogMagnitudeSTFT,
    invert,
    temporal_shift,
)
from audiogan.losses.gradient_penalty import gradient_penalty
from audiogan.models.specgan import SpecGANDiscriminator, SpecGANGenerator


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count(module: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in module.modules())


def test_full_size_matches_original_counts_and_shapes():
    with torch.device("meta"):  # shapes without memory; a forward on meta tensors computes shapes only
        g, d = SpecGANGenerator(), SpecGANDiscriminator()
        spec = g(g.sample_latent(1))
        logits = d(spec)
    assert n_params(g) == 19_065_345
    assert n_params(d) == 17_427_969
    assert n_params(g.dense) == 1_654_784
    assert [n_params(b[0]) for b in d.blocks] == [1_664, 204_928, 819_456, 3_277_312, 13_108_224]
    assert spec.shape == (1, 1, 128, 128)
    assert logits.shape == (1,)


def test_latent_is_uniform_in_unit_cube_and_seedable():
    g = SpecGANGenerator(dim=2)
    z = g.sample_latent(500, generator=torch.Generator().manual_seed(1))
    assert z.shape == (500, 100)
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99 and z.max() > 0.99
    assert torch.equal(z, g.sample_latent(500, generator=torch.Generator().manual_seed(1)))


def test_batchnorm_variant_as_original_flag():
    assert count(SpecGANGenerator(dim=2), nn.BatchNorm2d) == 0
    assert count(SpecGANDiscriminator(dim=2), nn.BatchNorm2d) == 0
    g = SpecGANGenerator(dim=2, use_batchnorm=True)
    d = SpecGANDiscriminator(dim=2, use_batchnorm=True)
    assert count(g, nn.BatchNorm2d) == 5  # after the dense layer and upconvs 0-3
    assert count(d, nn.BatchNorm2d) == 4  # after convs 1-4
    assert count(d.blocks[0], nn.BatchNorm2d) == 0
    spec = g(g.sample_latent(3))
    assert spec.shape == (3, 1, 128, 128) and spec.abs().max() <= 1  # the tanh output
    assert d(spec).shape == (3,)


class LinearCritic(nn.Module):
    """D(x) = sum(w * x): its gradient is w for every input, so the penalty is known in closed form."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.arange(16.0).view(1, 4, 4) / 20)
        self.inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.detach().clone())
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_closed_form_and_grads():
    critic = LinearCritic()
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    penalty, grad_norm = gradient_penalty(critic, real, fake, weight=10.0)
    w_norm = critic.w.detach().norm()
    assert torch.allclose(penalty, 10 * (w_norm - 1) ** 2)
    assert torch.allclose(grad_norm, w_norm)
    penalty.backward()
    expected = 10 * 2 * (w_norm - 1) * critic.w.detach() / w_norm
    assert torch.allclose(critic.w.grad, expected, atol=1e-6)


def test_gradient_penalty_draws_one_alpha_per_example():
    critic = LinearCritic()
    real, fake = torch.zeros(6, 1, 4, 4), torch.ones(6, 1, 4, 4)
    gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    x_hat = critic.inputs[0].flatten(1)  # = alpha, constant within each example
    alpha = torch.rand(6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x_hat, alpha[:, None].expand_as(x_hat))
    assert len(set(alpha.tolist())) == 6


def test_gradient_penalty_trains_a_specgan_critic_under_autocast():
    torch.manual_seed(0)
    d = SpecGANDiscriminator(dim=2)
    real, fake = torch.randn(2, 1, 128, 128), torch.randn(2, 1, 128, 128)
    reference, _ = gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty, grad_norm = gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(0))
    assert penalty.dtype == grad_norm.dtype == torch.float32
    assert torch.isfinite(penalty) and penalty > 0
    assert torch.allclose(penalty, reference, rtol=0.05)
    penalty.backward()
    # Every weight is trained; biases are not: with piecewise-linear activations D's input gradient
    # does not depend on them.
    weights = [p for name, p in d.named_parameters() if name.endswith("weight")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def sine(freq: float, n: int = SLICE_LENGTH) -> torch.Tensor:
    return 0.5 * torch.sin(2 * math.pi * freq * torch.arange(n) / SAMPLE_RATE)


def test_stft_framing_matches_original_and_sine_peaks_in_its_bin():
    audio = torch.randn(2, SLICE_LENGTH, dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logmag = LogMagnitudeSTFT()(audio)
    assert logmag.shape == (2, 1, 128, 128) and logmag.dtype == torch.float32
    # Frames at i * 128 without centring, zero-padded at the end by 128, periodic Hann, Nyquist dropped.
    padded = np.pad(audio.numpy(), ((0, 0), (0, 128)))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(256) / 256)
    frames = np.stack([padded[:, i * 128 : i * 128 + 256] * window for i in range(128)], axis=-1)
    expected = np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-6)[:, None, :-1]
    np.testing.assert_allclose(logmag.numpy(), expected, atol=1e-4)
    peak = LogMagnitudeSTFT()(sine(1000.0)[None])[0, 0].argmax(0)
    assert (peak == 16).all()  # 1000 Hz / (16000 / 256 Hz per bin)


def random_batches() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [scale * torch.randn(3, SLICE_LENGTH, generator=gen) for scale in (0.01, 0.3, 1.0)]


def test_moments_equal_numpy_over_all_frames():
    batches = random_batches()
    moments = FrequencyMoments()
    assert not moments.is_set
    moments.compute(batches)
    assert moments.is_set and int(moments.num_frames) == 9 * 128
    stft = LogMagnitudeSTFT()
    frames = np.concatenate([stft.log_magnitude(b).transpose(1, 2).reshape(-1, 129).numpy() for b in batches])
    np.testing.assert_allclose(moments.mean.numpy(), frames.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(moments.std.numpy(), frames.astype(np.float64).std(0), rtol=1e-5)


def test_normalize_round_trips_inside_three_std_and_clips_outside():
    moments = FrequencyMoments().compute(random_batches())
    logmag = LogMagnitudeSTFT()(torch.randn(2, SLICE_LENGTH) * torch.tensor([[0.001], [3.0]]))
    x = moments.normalize(logmag)
    assert x.shape == logmag.shape and x.abs().max() <= 1
    mean, std = moments.mean[:128, None], moments.std[:128, None]
    inside = (logmag - mean).abs() < 3 * std
    assert inside.any() and (~inside).any()
    back = moments.denormalize(x)
    torch.testing.assert_close(back[inside], logmag[inside], atol=1e-5, rtol=0)
    clipped = (mean + 3 * std * torch.sign(logmag - mean)).expand_as(logmag)
    torch.testing.assert_close(back[~inside], clipped[~inside], atol=1e-5, rtol=0)


def test_moments_cache_round_trip(tmp_path):
    moments = FrequencyMoments().compute(random_batches())
    path = tmp_path / "cache" / "moments.pt"
    moments.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["moments.pt"]  # no temp file left behind
    loaded = FrequencyMoments().load(path)
    assert loaded.is_set
    for name, value in moments.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)


def test_inversion_length_and_griffin_lim_consistency():
    # A chirp over a low noise floor, so that every bin has energy and the log error is not dominated by
    # bins at the 1e-6 floor, where any residual is a large log ratio.
    t = torch.arange(SLICE_LENGTH) / SAMPLE_RATE
    chirp = 0.5 * torch.sin(2 * math.pi * (200 * t + 6800 / (2 * t[-1]) * t**2))
    audio = (chirp + 0.01 * torch.randn(SLICE_LENGTH, generator=torch.Generator().manual_seed(0)))[None]
    stft = LogMagnitudeSTFT()
    moments = FrequencyMoments().compute([audio])
    spec = moments.normalize(stft(audio))
    target = moments.denormalize(spec)  # what Griffin-Lim is asked to match (clipped at 3 std)

    def log_error(n_iter: int) -> float:
        inverted = invert(spec, moments, n_iter=n_iter)
        assert inverted.shape == (1, SLICE_LENGTH)
        return (stft(inverted) - target).abs().mean().item()

    # Measured: 1.60 from zero phase, 0.15 after the original's 16 iterations (spectral convergence 0.10,
    # like torchaudio's griffinlim on the same chirp). Delaying the result by 16 samples, an eighth of a hop,
    # already gives 0.28, so the bound catches framing errors.
    zero_phase, converged = log_error(0), log_error(16)
    assert converged < 0.25
    assert converged < 0.2 * zero_phase


def test_inversion_of_generator_output_is_bounded():
    torch.manual_seed(0)
    g = SpecGANGenerator(dim=2)
    moments = FrequencyMoments().compute(random_batches())
    with torch.no_grad():
        audio = invert(g(g.sample_latent(2)), moments)
    assert audio.shape == (2, SLICE_LENGTH)
    assert torch.isfinite(audio).all() and audio.abs().max() < 10


def zero_filled_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    if shift >= 0:
        out[shift:] = x[: len(x) - shift]
    else:
        out[:shift] = x[-shift:]
    return out


def test_temporal_shift_is_zero_filled_bounded_and_reproducible():
    audio = torch.arange(1.0, 8 * 100 + 1).view(8, 1, 100)  # distinct nonzero samples: the shift is readable
    shifted = temporal_shift(audio, 10, generator=torch.Generator().manual_seed(5))
    assert torch.equal(shifted, temporal_shift(audio, 10, generator=torch.Generator().manual_seed(5)))
    shifts = []
    for row, original in zip(shifted[:, 0], audio[:, 0], strict=True):
        (shift,) = [s for s in range(-10, 11) if torch.equal(row, zero_filled_shift(original, s))]
        shifts.append(shift)
    assert len(set(shifts)) > 1  # drawn per example
    assert torch.equal(temporal_shift(audio, 0), audio)
