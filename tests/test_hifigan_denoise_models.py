"""Su et al. 2020 denoiser networks: lengths, receptive field, sizes and discriminator output structure."""

from __future__ import annotations

import pytest
import torch

from audiogan.models.hifigan_denoise import (
    DenoisingDiscriminators,
    DenoisingGenerator,
    MelSpectrogramDiscriminator,
    Postnet,
    WaveNet,
)

TINY_WAVENET = {
    "stacks": 2,
    "layers_per_stack": 3,
    "channels": 4,
    "skip_channels": 4,
    "head_channels": (8, 4),
}
TINY_POSTNET = {"layers": 3, "channels": 4, "kernel_size": 32}
TINY_D = {
    "waveform": {"ndf": 4, "n_layers": 2},
    "mel": {"n_mels": 16, "channels": 4, "n_fft": 512, "hop_length": 128},
}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tiny_generator() -> DenoisingGenerator:
    torch.manual_seed(0)
    return DenoisingGenerator(TINY_WAVENET, TINY_POSTNET)


@pytest.mark.parametrize("length", [1, 2, 31, 32, 33, 1001])
def test_generator_parts_preserve_length(length):
    g = tiny_generator()
    x = torch.randn(2, 1, length)
    with torch.no_grad():
        wavenet_out, final = g(x)
    assert wavenet_out.shape == final.shape == x.shape


@pytest.mark.parametrize("kernel_size", [31, 32])
@pytest.mark.parametrize("length", [1, 16, 17, 1001])
def test_postnet_preserves_length_for_odd_and_even_kernels(kernel_size, length):
    postnet = Postnet(layers=3, channels=4, kernel_size=kernel_size)
    with torch.no_grad():
        assert postnet(torch.randn(2, 1, length)).shape == (2, 1, length)


def test_generator_without_postnet_returns_wavenet_output_twice():
    g = tiny_generator()
    g.use_postnet = False
    with torch.no_grad():
        wavenet_out, final = g(torch.randn(1, 1, 100))
    assert final is wavenet_out


def test_receptive_field_matches_the_published_one_and_gradient_support():
    with torch.device("meta"):
        full_size = WaveNet()
    assert full_size.receptive_field == 4093 + 2 * 2  # dilated stack (4093 samples) + two k3 head convs
    torch.manual_seed(0)
    net = WaveNet(channels=8, skip_channels=8, head_channels=(8, 8)).double()
    field = net.receptive_field
    length, centre = field + 400, (field + 400) // 2
    x = torch.randn(1, 1, length, dtype=torch.double, requires_grad=True)
    net(x)[0, 0, centre].backward()
    taps = (x.grad[0, 0] != 0).nonzero().squeeze(1)
    assert len(taps) == field
    assert taps[0] == centre - field // 2 and taps[-1] == centre + field // 2


@pytest.mark.parametrize("use_postnet", [False, True])
def test_reach_is_how_far_an_output_sample_sees_on_either_side(use_postnet):
    torch.manual_seed(0)
    wavenet = {"stacks": 1, "layers_per_stack": 4, "channels": 4, "skip_channels": 4, "head_channels": (4, 4)}
    g = DenoisingGenerator(wavenet, {"layers": 3, "channels": 4, "kernel_size": 6}, use_postnet).double()
    torch.nn.init.normal_(
        g.postnet.net[-1].weight
    )  # a trained postnet: its zero-initialised last layer moved
    centre = 200
    x = torch.randn(1, 1, 2 * centre + 1, dtype=torch.double, requires_grad=True)
    g(x)[1][0, 0, centre].backward()
    taps = (x.grad[0, 0] != 0).nonzero().squeeze(1)
    assert max(centre - int(taps[0]), int(taps[-1]) - centre) == g.reach
    assert int(taps[-1] - taps[0]) + 1 == g.receptive_field


def test_an_untrained_postnet_passes_the_wavenet_output_through_unchanged():
    g = DenoisingGenerator(
        {"stacks": 1, "layers_per_stack": 2, "channels": 4, "skip_channels": 4}, {"layers": 3}
    )
    noisy = torch.randn(2, 1, 300)
    wavenet_output, output = g(noisy)
    assert torch.equal(output, wavenet_output)  # stage 2 starts where stage 1 ended


def test_param_counts_at_defaults():
    with torch.device("meta"):  # shapes without memory (the discriminators copy resampling kernels: not meta)
        g = DenoisingGenerator()
    # published: WaveNet 4.99M (w-transposed-x, whose last residual conv is unused), postnet 5.09M at k31
    assert n_params(g.wavenet) == 4_977_281
    assert n_params(g.postnet) == 5_252_481
    d = DenoisingDiscriminators()
    # published: 5.64M per waveform D; mel D 0.14M with a (36, 5) final kernel, here (80, 5) spans all mels
    assert [n_params(s) for s in d.waveform.discriminators] == [5_641_362] * 3
    assert n_params(d.mel) == 150_209
    assert n_params(d) == 3 * 5_641_362 + 150_209


@pytest.mark.parametrize("global_pool", [True, False])
def test_discriminator_outputs_one_feature_list_per_discriminator(global_pool):
    torch.manual_seed(0)
    waveform = {**TINY_D["waveform"], "global_pool": global_pool}
    d = DenoisingDiscriminators(waveform=waveform, mel=TINY_D["mel"])
    with torch.no_grad():
        outputs = d(torch.randn(2, 1, 16000))
    assert len(outputs) == 4
    for features, rate in zip(outputs[:3], (16000, 8000, 4000), strict=True):
        assert len(features) == 2 + 2 + 1  # input conv, 2 strided, conv k5, logits
        assert features[0].shape == (2, 4, rate)
        assert features[-1].shape == ((2, 1) if global_pool else (2, 1, rate // 16 + (rate % 16 > 0)))
    mel_features = outputs[3]
    assert len(mel_features) == 5
    assert mel_features[0].shape == (2, 4, 16, 16000 // 128 // 2 + 1)
    assert mel_features[-1].shape == (2, 1)


def test_resampling_kernels_follow_the_module_dtype():
    d = DenoisingDiscriminators(**TINY_D).double()
    with torch.no_grad():
        outputs = d(torch.randn(1, 1, 4000, dtype=torch.double))
    assert all(f.dtype == torch.double for features in outputs for f in features)


def test_mel_discriminator_uses_batchnorm_and_glu():
    d = MelSpectrogramDiscriminator(**TINY_D["mel"])
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules()) == 4
    assert all(block.conv.out_channels == 2 * 4 for block in d.blocks)


def test_l1_loss_reaches_every_generator_parameter_from_the_second_update():
    g = tiny_generator()
    noisy, clean = torch.randn(2, 1, 500), torch.randn(2, 1, 500)
    optimizer = torch.optim.SGD(g.parameters(), lr=0.1)
    for _ in range(2):  # the first moves the postnet's zero last layer, which then passes gradients back
        optimizer.zero_grad()
        (g(noisy)[1] - clean).abs().mean().backward()
        optimizer.step()
    for name, p in g.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
