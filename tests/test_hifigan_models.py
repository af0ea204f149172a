"""HiFi-GAN networks as configured: the official sizes (on the meta device), output lengths, discriminator
outputs."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from conftest import compose, on_meta
from hydra.utils import instantiate

from audiogan.models.hifigan import (
    HiFiGANDiscriminator,
    HiFiGANGenerator,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
)
from audiogan.models.layers import joint_pass, remove_weight_norm


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _task_cfg(*overrides: str):
    return compose("model=hifigan", *overrides).model.task


@pytest.mark.parametrize(("variant", "params"), [("v1", 13_936_130), ("v2", 928_514), ("v3", 1_464_322)])
def test_generators_have_the_official_sizes(variant, params):
    assert _params(on_meta(_task_cfg(f"model.variant={variant}").generator)) == params


def test_discriminators_have_the_official_sizes():
    discriminator = on_meta(_task_cfg().discriminator)
    assert _params(discriminator.mpd) == 41_105_770
    assert _params(discriminator.msd) == 29_618_821


def test_v1_without_weight_norm_has_the_papers_size_and_makes_256_samples_per_frame():
    generator = instantiate(_task_cfg().generator).eval()
    mel = torch.randn(1, 80, 10)
    with torch.no_grad():
        audio = generator(mel)
    assert audio.shape == (1, 1, 2_560)
    assert audio.abs().max() <= 1.0
    baked = remove_weight_norm(generator)
    assert _params(baked) == 13_926_017
    with torch.no_grad():
        assert torch.allclose(baked(mel), audio, atol=1e-5)  # baking changes no output


@pytest.mark.parametrize("variant", ["v2", "v3"])
def test_smaller_generators_keep_the_hop(variant):
    cfg = _task_cfg(f"model.variant={variant}", "model.task.generator.channels=32")
    generator = instantiate(cfg.generator)
    assert isinstance(generator, HiFiGANGenerator) and generator.hop_length == 256
    with torch.no_grad():
        assert generator(torch.randn(2, 80, 7)).shape == (2, 1, 7 * 256)


def test_period_discriminators_fold_by_their_period_and_return_every_layer():
    mpd = MultiPeriodDiscriminator(periods=(2, 3, 5), channels=(4, 8, 8))
    outputs = mpd(torch.randn(2, 1, 1000))
    assert len(outputs) == 3
    for period, maps in zip((2, 3, 5), outputs, strict=True):
        assert len(maps) == 4  # three convs and the logits
        assert all(m.dim() == 4 and m.shape[0] == 2 and m.shape[-1] == period for m in maps)
        assert maps[-1].shape[1] == 1
        rows = math.ceil(1000 / period)  # padded to whole periods
        assert maps[0].shape[2] == math.ceil(rows / 3)  # then stride 3


def test_scale_discriminators_pool_the_audio_and_only_the_first_is_spectrally_normed():
    layers = [[8, 15, 1, 1], [16, 41, 4, 4], [16, 5, 1, 1]]
    msd = MultiScaleDiscriminator(layers, num_scales=3)
    outputs = msd(torch.randn(2, 1, 1024))
    assert [maps[-1].shape for maps in outputs] == [(2, 1, 256), (2, 1, 129), (2, 1, 65)]
    norms = [{type(p).__name__ for p in branch.convs[0].parametrizations.weight} for branch in msd.branches]
    assert norms == [{"_SpectralNorm"}, {"_WeightNorm"}, {"_WeightNorm"}]


def test_the_official_two_passes_equal_one_pass_over_the_stateless_parts():
    """With the hook spectral norm (one power iteration per training forward) the pair pass gives what a
    pass over real then a pass over fake give, and leaves the spectral norm's vectors where they do."""
    torch.manual_seed(0)
    layers = [[8, 15, 1, 1], [16, 41, 4, 4], [16, 5, 1, 1]]
    two_passes = HiFiGANDiscriminator(
        MultiPeriodDiscriminator(periods=(2, 3), channels=(4, 8)),
        MultiScaleDiscriminator(layers, num_scales=2, spectral_norm="hook"),
        separate_passes=True,
    ).train()
    pair_pass = copy.deepcopy(two_passes)
    real, fake = torch.randn(2, 1, 900), torch.randn(2, 1, 900)
    expected = (two_passes(real), two_passes(fake))
    got = joint_pass(pair_pass, real, fake)
    for side_expected, side_got in zip(expected, got, strict=True):
        for branch_expected, branch_got in zip(side_expected, side_got, strict=True):
            for a, b in zip(branch_expected, branch_got, strict=True):
                torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)
    vectors = {k: v for k, v in two_passes.state_dict().items() if k.endswith(("weight_u", "weight_v"))}
    assert vectors
    for key, vector in vectors.items():
        torch.testing.assert_close(pair_pass.state_dict()[key], vector, atol=1e-6, rtol=0)
