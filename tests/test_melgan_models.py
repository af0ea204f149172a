"""MelGAN networks: sizes and shapes from the official code; the fast inference copy and the export path
equal the plain networks."""

from __future__ import annotations

import copy

import pytest
import torch

from audiogan.export import ExportSpec, export_torchscript, inference_copy
from audiogan.inference.fast_path import ChannelsLastGenerator, fast_inference_copy
from audiogan.models.layers import remove_weight_norm
from audiogan.models.melgan import MelGANDiscriminator, MelGANGenerator


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def small_generator(**kwargs) -> MelGANGenerator:
    torch.manual_seed(0)
    return MelGANGenerator(n_mels=16, ngf=4, **kwargs).eval()


def test_generator_param_count_matches_official():
    with torch.device("meta"):  # shapes without memory
        g = MelGANGenerator()
    assert n_params(g) == 4_266_050
    assert n_params(remove_weight_norm(g)) == 4_260_257
    assert g.hop_length == 256


def test_discriminator_param_count_matches_official():
    with torch.device("meta"):
        d = MelGANDiscriminator()
    assert n_params(d) == 16_924_086
    assert [n_params(s) for s in d.scales] == [5_641_362] * 3
    assert n_params(remove_weight_norm(d)) == 16_913_859


@pytest.mark.parametrize("frames", [4, 7, 20])
def test_generator_output_length_is_frames_times_hop(frames):
    g = small_generator()
    with torch.no_grad():
        audio = g(torch.randn(2, 16, frames))
    assert audio.shape == (2, 1, frames * 256)
    assert audio.abs().max() <= 1


def test_discriminator_shapes_match_official_at_full_size():
    with torch.device("meta"):  # a forward on meta tensors computes the shapes only
        out = MelGANDiscriminator()(torch.randn(1, 1, 8192))
    assert [scale[-1].shape for scale in out] == [(1, 1, 32), (1, 1, 16), (1, 1, 8)]
    assert [tuple(f.shape[1:]) for f in out[0][:-1]] == [
        (16, 8192),
        (64, 2048),
        (256, 512),
        (1024, 128),
        (1024, 32),
        (1024, 32),
    ]


def test_discriminator_feature_shapes_small():
    d = MelGANDiscriminator(num_scales=2, ndf=4, n_layers=3)
    with torch.no_grad():
        out = d(torch.randn(2, 1, 4096))
    assert len(out) == 2
    for i, scale in enumerate(out):
        t = 4096 // 2**i
        assert [tuple(f.shape) for f in scale] == [
            (2, 4, t),
            (2, 16, t // 4),
            (2, 64, t // 16),
            (2, 256, t // 64),
            (2, 512, t // 64),
            (2, 1, t // 64),
        ]


def max_abs_diff(a: list, b: list) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_forward_matches_cpu():
    g = small_generator()
    d = MelGANDiscriminator(num_scales=2, ndf=4, n_layers=2)
    mel = torch.randn(2, 16, 12)
    with torch.no_grad():
        audio = g(mel)
        features = d(audio)
        audio_cuda = g.cuda()(mel.cuda())
        features_cuda = d.cuda()(audio_cuda)
    assert (audio_cuda.cpu() - audio).abs().max() < 1e-4
    for a, e in zip(features_cuda, features, strict=True):
        assert max_abs_diff([f.cpu() for f in a], e) < 1e-4


def test_remove_weight_norm_on_copy_preserves_outputs_and_original():
    g = small_generator()
    mel = torch.randn(1, 16, 9)
    with torch.no_grad():
        before = g(mel)
        baked = remove_weight_norm(copy.deepcopy(g))
        assert not any(hasattr(m, "parametrizations") for m in baked.modules())
        torch.testing.assert_close(baked(mel), before, rtol=0, atol=1e-6)
        torch.testing.assert_close(g(mel), before, rtol=0, atol=0)  # the original keeps its weight norm


@pytest.mark.parametrize("kwargs", [{}, {"ratios": (5, 3), "n_residual_layers": 2}], ids=["default", "odd"])
def test_the_fast_inference_path_takes_the_generator_and_matches_it(kwargs):
    g = small_generator(**kwargs)
    mel = torch.randn(2, 16, 12)
    with torch.no_grad():
        expected = g(mel)
    fast = fast_inference_copy(g, 16)
    assert isinstance(fast, ChannelsLastGenerator)
    actual = fast(mel)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max() < 1e-4


def test_torchscript_export_round_trip(tmp_path):
    g = small_generator()
    spec = ExportSpec(inference_copy(g), torch.randn(1, 16, 8), "log_mel", "audio", dynamic_axes={})
    path = export_torchscript(spec, tmp_path / "melgan.ts")
    assert [p.name for p in tmp_path.iterdir()] == ["melgan.ts"]
    loaded = torch.jit.load(str(path))
    mel = torch.randn(2, 16, 13)  # another length than the example: the time axis stays dynamic
    with torch.no_grad():
        expected = g(mel)
        actual = loaded(mel)
    assert actual.shape == (2, 1, 13 * 256)
    assert (actual - expected).abs().max() < 1e-4
