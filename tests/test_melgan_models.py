"""MelGAN networks: sizes and shapes from the official code; the channels-last training path and the
inference and export paths all equal the modules' plain composition."""

from __future__ import annotations

import copy

import pytest
import torch

from audiogan.export import ExportSpec, export_torchscript, inference_copy
from audiogan.models import layers
from audiogan.models.layers import remove_weight_norm
from audiogan.models.melgan import MelGANDiscriminator, MelGANGenerator, MelGANInference


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


def reference_generator(g: MelGANGenerator, mel: torch.Tensor) -> torch.Tensor:
    """The generator as its modules compose, in the [B, C, T] layout (the forward before channels-last)."""
    x = g.conv_pre(mel)
    for stage in g.stages:
        x = stage(x)
    return g.conv_post(x)


def reference_discriminator(d: MelGANDiscriminator, x: torch.Tensor) -> list[list[torch.Tensor]]:
    """The discriminator as its modules compose, in the [B, C, T] layout."""
    outputs = []
    for i, scale in enumerate(d.scales):
        if i > 0:
            x = d.downsample(x)
        features, h = [], x
        for layer in scale.layers:
            h = layer(h)
            features.append(h)
        outputs.append(features)
    return outputs


def max_abs_diff(a: list, b: list) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("kwargs", [{}, {"ratios": (5, 3), "n_residual_layers": 2}], ids=["default", "odd"])
def test_generator_training_forward_matches_plain_composition(kwargs):
    g = small_generator(**kwargs).train()
    mel = torch.randn(2, 16, 12)
    actual = g(mel)
    assert actual.shape == (2, 1, 12 * g.hop_length)
    assert (actual - reference_generator(g, mel)).abs().max() < 1e-5


def test_discriminator_training_forward_matches_plain_composition_and_runs_channels_last():
    torch.manual_seed(0)
    d = MelGANDiscriminator(num_scales=2, ndf=4, n_layers=3)
    x = torch.randn(2, 1, 4096)
    actual, expected = d(x), reference_discriminator(d, x)
    for a, e in zip(actual, expected, strict=True):
        assert [f.shape for f in a] == [f.shape for f in e]
        assert max_abs_diff(a, e) < 1e-5
    # the early features are views of channels-last signals (torch would silently fall back to [B, C, T])
    assert actual[0][1].stride(1) == 1


def test_training_gradients_match_plain_composition():
    """Weight-norm parameters and inputs get the same gradients through both layouts (tiny widths)."""
    g = small_generator(ratios=(4, 2), n_residual_layers=2).train()
    d = MelGANDiscriminator(num_scales=2, ndf=4, n_layers=2)
    mel = torch.randn(2, 16, 6)
    real = torch.randn(2, 1, 48)
    weights = [torch.randn(f.shape) for s in reference_discriminator(d, real.repeat(2, 1, 1)) for f in s]

    def grads(g_forward, d_forward):
        g.zero_grad(set_to_none=True)
        d.zero_grad(set_to_none=True)
        x = real.clone().requires_grad_()
        features = [f for s in d_forward(d, torch.cat([x, g_forward(g, mel)])) for f in s]
        sum((w * f).sum() for w, f in zip(weights, features, strict=True)).backward()
        return [x.grad] + [p.grad for p in (*g.parameters(), *d.parameters())]

    expected = grads(reference_generator, reference_discriminator)
    actual = grads(MelGANGenerator.forward, MelGANDiscriminator.forward)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-5)


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


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "fallback"])
@pytest.mark.parametrize("kwargs", [{}, {"ratios": (5, 3), "n_residual_layers": 2}], ids=["default", "odd"])
def test_fast_inference_matches_plain_forward(monkeypatch, onednn, kwargs):
    if not onednn:
        monkeypatch.setattr(layers, "_onednn", lambda x: False)
    g = small_generator(**kwargs)
    mel = torch.randn(2, 16, 12)
    with torch.no_grad():
        expected = g(mel)
    fast = MelGANInference(g)
    assert fast.hop_length == g.hop_length
    actual = fast(mel)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max() < 1e-4


def test_fast_inference_bf16_is_close():
    g = small_generator()
    mel = torch.randn(1, 16, 12)
    with torch.no_grad():
        expected = g(mel)
    actual = MelGANInference(g).to(torch.bfloat16)(mel)
    assert actual.dtype == torch.float32
    assert (actual - expected).abs().max() < 5e-2


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
