"""BigVGAN: the official sizes of every release, the anti-aliased activation, the discriminators and the
multi-scale mel loss against the official package (where installed: ``pip install -e .[reference]``),
gradient norms clipped per discriminator, and that it learns on a fixed batch."""

from __future__ import annotations

import math
import re

import pytest
import torch
from conftest import compose, on_meta, smoke
from hydra.utils import instantiate
from overfit import early_late, overfit

from audiogan.commands.train import build_task
from audiogan.errors import ConfigError
from audiogan.losses.spectral import MultiScaleMelLoss
from audiogan.models.bigvgan import (
    AntiAliasedActivation,
    BigVGANGenerator,
    DownSample1d,
    MultiResolutionSpectrogramDiscriminator,
    MultiScaleSubbandCQTDiscriminator,
    SnakeBeta,
    UpSample1d,
    kaiser_sinc_filter,
)
from audiogan.tasks.release import from_hook_weight_norm

TINY_BIGVGAN = smoke("bigvgan")

try:
    from bigvgan import bigvgan as official_generator
    from bigvgan import discriminators as official_discriminators
    from bigvgan import loss as official_loss
    from bigvgan.env import AttrDict

    OFFICIAL = True
except ImportError:
    OFFICIAL = False
needs_official = pytest.mark.skipif(
    not OFFICIAL, reason="the official bigvgan package is not installed (pip install -e .[reference])"
)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(  # the v2 releases take seconds each, even on the meta device: make test only
    ("model", "parameters"),
    [
        pytest.param("bigvgan", 112_231_249, marks=pytest.mark.slow),
        pytest.param("bigvgan_v2_24k", 112_446_289, marks=pytest.mark.slow),
        pytest.param("bigvgan_v2_44k_512x", 122_184_529, marks=pytest.mark.slow),
        ("bigvgan_base_22k", 13_953_474),
    ],
)
def test_each_release_config_builds_the_official_generator_size(model, parameters):
    # the figures: sum of the official BigVGAN(h).parameters() for each release's config.json (bigvgan 2.4.1)
    cfg = compose(f"model={model}")
    generator = on_meta(cfg.model.task.generator)
    assert _count(generator) == parameters
    assert generator.hop_length == cfg.audio.hop_length


def test_the_discriminators_have_the_official_sizes():
    # the spectral Ds are small, and torchaudio's resampler does not build on the meta device
    v2 = compose("model=bigvgan").model.task.discriminator
    assert (_count(on_meta(v2.mpd)), _count(instantiate(v2.mrd))) == (41_105_770, 4_454_304)
    v1 = compose("model=bigvgan_base_22k").model.task.discriminator
    assert _count(instantiate(v1.mrd)) == 280_902


def test_the_kaiser_sinc_filter_passes_dc_and_stops_above_its_cutoff():
    taps = kaiser_sinc_filter(0.25, 0.3, 12).flatten()
    response = torch.fft.rfft(taps, 512).abs()
    frequencies = torch.linspace(0, 0.5, response.numel())
    assert taps.sum().item() == pytest.approx(1.0)
    assert torch.allclose(taps, taps.flip(0))  # linear phase
    assert response[frequencies > 0.4].max() < 0.05


def test_resampling_by_two_keeps_a_low_tone_and_the_length():
    t = torch.arange(512, dtype=torch.float32)
    tone = torch.sin(2 * math.pi * 0.05 * t)[None, None]
    up = UpSample1d(1, 2)(tone)
    assert up.shape[-1] == 1024
    # the tone at twice the rate, half an output sample late (the 12-tap filter's even length)
    between = torch.sin(2 * math.pi * 0.05 * (torch.arange(1024) - 0.5) / 2)
    torch.testing.assert_close(up[0, 0, 64:-64], between[64:-64], atol=0.005, rtol=0)
    back = DownSample1d(1, 2)(up)
    assert back.shape == tone.shape
    torch.testing.assert_close(back[..., 32:-32], tone[..., 32:-32], atol=0.005, rtol=0)


def _ideal_resample(signal: torch.Tensor, factor: float) -> torch.Tensor:
    """Band-limited resampling of a periodic signal by zero-padding or truncating its spectrum."""
    n, spectrum = signal.shape[-1], torch.fft.rfft(signal)
    m = int(n * factor)
    padded = torch.zeros(*spectrum.shape[:-1], m // 2 + 1, dtype=spectrum.dtype)
    keep = min(spectrum.shape[-1], m // 2 + 1)
    padded[..., :keep] = spectrum[..., :keep]
    return torch.fft.irfft(padded, m) * factor


def test_the_anti_aliased_activation_is_closer_to_the_band_limited_one():
    # Snake of a tone makes harmonics above Nyquist: applied at the sample rate they alias back; at twice the
    # rate between low-pass filters most of them are removed. The reference: the activation at 16x the rate,
    # band-limited back down
    tone = torch.sin(2 * math.pi * 0.15 * torch.arange(2000, dtype=torch.float64))[None, None]
    act = SnakeBeta(1, logscale=True).double()
    with torch.no_grad():
        act.alpha.fill_(math.log(2.0))
        reference = _ideal_resample(act(_ideal_resample(tone, 16)), 1 / 16)
        plain = (act(tone) - reference)[..., 200:-200].abs().max()
        anti_aliased = (AntiAliasedActivation(act).double()(tone) - reference)[..., 200:-200].abs().max()
    assert anti_aliased < 0.5 * plain


def test_the_generator_gives_hop_samples_per_frame_within_one():
    generator = BigVGANGenerator(n_mels=20, channels=16, upsample_rates=(4, 4), upsample_kernel_sizes=(8, 8))
    audio = generator(torch.randn(2, 20, 9))
    assert audio.shape == (2, 1, 9 * 16)
    assert audio.abs().max() <= 1.0


def test_a_grad_clip_naming_a_part_the_discriminator_lacks_is_refused_by_name(compose_cfg):
    cfg = compose_cfg(*TINY_BIGVGAN, "+model.task.optim.grad_clip.discriminator.msd=1.0")
    with pytest.raises(ConfigError, match=r"grad_clip.discriminator.msd: .* its parts are \['mpd', 'mrd'\]"):
        build_task(cfg)


def test_each_discriminator_part_is_clipped_to_its_own_norm(compose_cfg):
    from audiogan.tasks.optimizers import clip_by_part

    task = build_task(compose_cfg(*TINY_BIGVGAN))
    for p in task.discriminator.parameters():
        p.grad = torch.full_like(p, 10.0)
    norms = clip_by_part(task.discriminator, {"mpd": 1.0, "mrd": 2.0})

    def norm(module):
        return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in module.parameters()]))

    assert norms["mpd"] > 1.0 and norms["mrd"] > 2.0  # the norms before clipping
    assert norm(task.discriminator.mpd).item() == pytest.approx(1.0, rel=1e-4)
    assert norm(task.discriminator.mrd).item() == pytest.approx(2.0, rel=1e-4)


def test_feature_matching_leaves_out_the_cqt_logits_and_keeps_the_mpds(compose_cfg):
    task = build_task(compose_cfg(*TINY_BIGVGAN))
    branches = task.discriminator(0.1 * torch.randn(1, 1, 4096))
    matched = task.discriminator.matched_features(branches)
    periods = len(task.discriminator.mpd.branches)
    assert [len(m) for m in matched[:periods]] == [len(b) for b in branches[:periods]]
    assert [len(m) for m in matched[periods:]] == [len(b) - 1 for b in branches[periods:]]


def _official_names(state_dict):
    """Official keys -> ours: the parametrization's weight norm, ``discriminators`` -> ``branches``."""
    return {
        re.sub(r"^discriminators\.", "branches.", from_hook_weight_norm(k)): v for k, v in state_dict.items()
    }


V2 = {"sampling_rate": 22050, "cqtd_filters": 8, "mpd_reshapes": [2, 3], "use_spectral_norm": False}


@needs_official
def test_the_cqt_discriminator_equals_the_official_one():
    torch.manual_seed(0)
    official = official_discriminators.MultiScaleSubbandCQTDiscriminator(AttrDict(dict(V2)))
    ours = MultiScaleSubbandCQTDiscriminator(22050, filters=8)
    ours.load_state_dict(_official_names(official.state_dict()))  # strict: the CQT kernels as buffers too
    real, fake = 0.3 * torch.randn(2, 1, 8192), 0.3 * torch.randn(2, 1, 8192)
    with torch.no_grad():
        logits, _, features, _ = official(real, fake)
        branches = ours(real)
    for official_logits, official_features, branch in zip(logits, features, branches, strict=True):
        torch.testing.assert_close(branch[-1], official_logits, atol=1e-6, rtol=0)
        for expected, feature in zip(official_features, branch[:-1], strict=True):
            torch.testing.assert_close(feature, expected, atol=1e-6, rtol=0)


@needs_official
@pytest.mark.slow  # six resolution branches, ours and the official: seconds
def test_the_v1_resolution_discriminator_equals_the_official_one():
    h = AttrDict(
        dict(
            V2,
            resolutions=[[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]],
            discriminator_channel_mult=1,
        )
    )
    official = official_discriminators.MultiResolutionDiscriminator(h)
    ours = MultiResolutionSpectrogramDiscriminator(h.resolutions)
    ours.load_state_dict(_official_names(official.state_dict()))
    audio = 0.3 * torch.randn(2, 1, 8192)
    with torch.no_grad():
        _, _, features, _ = official(audio, audio)
        branches = ours(audio)
    for official_features, branch in zip(features, branches, strict=True):
        for expected, feature in zip(official_features, branch, strict=True):
            torch.testing.assert_close(feature, expected, atol=1e-5, rtol=1e-5)


@needs_official
def test_the_multiscale_mel_loss_equals_the_official_one():
    real, fake = 0.3 * torch.randn(2, 1, 8192), 0.3 * torch.randn(2, 1, 8192)
    expected = official_loss.MultiScaleMelSpectrogramLoss(sampling_rate=22050)(fake, real)
    torch.testing.assert_close(MultiScaleMelLoss(22050)(fake, real), expected, atol=1e-6, rtol=1e-6)


@needs_official
def test_the_generator_equals_the_official_one_with_the_same_weights():
    h = AttrDict(
        {
            **V2,
            "num_mels": 20,
            "upsample_initial_channel": 32,
            "upsample_rates": [4, 4],
            "upsample_kernel_sizes": [8, 8],
            "resblock": "1",
            "resblock_kernel_sizes": [3, 7],
            "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
            "activation": "snakebeta",
            "snake_logscale": True,
            "use_tanh_at_final": False,
            "use_bias_at_final": False,
        }
    )
    torch.manual_seed(0)
    official = official_generator.BigVGAN(h).eval()
    with torch.no_grad():
        for name, parameter in official.named_parameters():
            if name.endswith(("alpha", "beta")):
                parameter.normal_(0, 0.3)  # off their initial zeros
    ours = BigVGANGenerator(20, 32, (4, 4), (8, 8), 1, (3, 7), ((1, 3, 5), (1, 3, 5))).eval()
    ours.load_state_dict(_official_names(official.state_dict()))
    mel = torch.randn(2, 20, 12)
    with torch.no_grad():
        torch.testing.assert_close(ours(mel), official(mel), atol=1e-5, rtol=0)


@pytest.mark.slow
def test_mel_loss_and_the_discriminator_loss_fall_on_a_fixed_batch(compose_cfg):
    cfg = compose_cfg(
        *TINY_BIGVGAN,
        "model.task.optim.generator.lr=2e-3",
        "model.task.optim.discriminator.lr=2e-3",
        "model.task.schedule.max_batches=30",
        "model.task.scheduler={}",
    )
    history = overfit(cfg, 30)
    early, late = early_late(history["train/g_mel_l1"])
    assert late < 0.8 * early
    early, late = early_late(history["train/d_loss"])
    assert late < early
    assert {"train/grad_norm_discriminator_mpd", "train/grad_norm_discriminator_mrd"} <= history.keys()
    assert all(math.isfinite(v) for v in history["train/g_loss"])
