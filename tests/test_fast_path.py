"""The fast inference path (audiogan.inference.fast_path): every vocoder's generator gives the plain copy's
audio on it (fp32, within 1e-4), the families it pays for take it (their TorchScript export too), a generator
it cannot express keeps the plain copy with one log line, and its layers equal torch's 1-D ones."""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import compose, smoke, vocoder_families
from torch import nn

from audiogan.commands.train import build_task
from audiogan.export import export_torchscript, inference_copy
from audiogan.inference.fast_path import (
    FAST_TOLERANCE,
    ChannelsLastGenerator,
    Conv2dOf1d,
    Pad2dOf1d,
    channels_last_2d,
    fast_inference_copy,
)

VOCODERS = vocoder_families()
# the families whose generators run on the fast path (make bench: 0.5-0.7x the plain generator's time on
# 2 CPU threads); Vocos' ConvNeXt blocks normalise over channels-last [B, T, C] and keep the plain copy (a
# twin of its backbone without the transposes ran at 0.96x the plain one: its time is in matrix products)
FAST = {"melgan", "hifigan", "bigvgan", "toy_vocoder"}


def _vocoder(family: str):
    torch.manual_seed(0)
    return build_task(compose(*smoke(family)))


@pytest.mark.parametrize("family", VOCODERS)
def test_the_fast_copy_gives_the_plain_copys_audio(family):
    task = _vocoder(family)
    n_mels = task.audio_config.n_mels
    fast = fast_inference_copy(task.generator, n_mels)
    assert isinstance(fast, ChannelsLastGenerator) == (family in FAST)
    mel = torch.randn(2, n_mels, 37)
    with torch.inference_mode():
        expected = inference_copy(task.generator)(mel)
        got = fast(mel)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= FAST_TOLERANCE


@pytest.mark.slow  # traces and reloads a generator
@pytest.mark.parametrize("family", ["melgan", "bigvgan"])  # torch's 1-D layers; a family's declared twin
def test_torchscript_export_traces_the_fast_path_and_keeps_its_layout(family, tmp_path):
    task = _vocoder(family)
    spec = task.export_spec()
    assert isinstance(spec.torchscript_module, ChannelsLastGenerator)
    scripted = torch.jit.load(str(export_torchscript(spec, tmp_path / "generator.pt")))
    kernels = [
        t for t in scripted.state_dict().values() if t.dim() == 4 and t.shape[1] > 1 and t.shape[3] > 1
    ]
    assert kernels and all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels)
    mel = torch.randn(2, task.audio_config.n_mels, 41)
    with torch.no_grad():
        assert (scripted(mel) - spec.module(mel)).abs().max() <= FAST_TOLERANCE


def test_the_fast_copy_is_a_snapshot():
    task = _vocoder("hifigan")
    fast = fast_inference_copy(task.generator, task.audio_config.n_mels)
    mel = torch.randn(1, task.audio_config.n_mels, 16)
    before = fast(mel)
    with torch.no_grad():
        for p in task.generator.parameters():
            p.add_(1.0)
    torch.testing.assert_close(fast(mel), before, rtol=0, atol=0)


def test_bf16_is_an_opt_in_within_its_own_tolerance():
    task = _vocoder("hifigan")
    fast = fast_inference_copy(task.generator, task.audio_config.n_mels)
    mel = torch.randn(1, task.audio_config.n_mels, 16)
    expected = fast(mel)
    actual = fast.to(torch.bfloat16)(mel)
    assert actual.dtype == torch.float32
    assert (actual - expected).abs().max() < 0.05  # bf16 keeps 8 bits of mantissa


class _TransposesChannels(nn.Module):
    """A generator the fast path cannot express: a LayerNorm over channels after a transpose."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)

    def forward(self, mel):
        return self.norm(self.conv(mel).transpose(1, 2)).transpose(1, 2).mean(1, keepdim=True)


def test_a_generator_it_cannot_express_keeps_the_plain_copy_with_one_log_line(caplog):
    caplog.set_level(logging.INFO, logger="audiogan")
    generator = _TransposesChannels()
    copy = fast_inference_copy(generator, 4)
    assert not isinstance(copy, ChannelsLastGenerator)
    (record,) = [r for r in caplog.records if r.name == "audiogan.inference.fast_path"]
    assert "_TransposesChannels" in record.getMessage() and "plain generator" in record.getMessage()
    mel = torch.randn(1, 4, 10)
    torch.testing.assert_close(copy(mel), generator(mel))


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv1d(6, 4, 5, padding=4, dilation=2),
        nn.Conv1d(6, 6, 3, stride=2, padding=1, groups=3, padding_mode="reflect"),
        nn.ConvTranspose1d(6, 4, 8, stride=4, padding=2, output_padding=1),
        nn.ConvTranspose1d(6, 6, 4, stride=2, padding=1, groups=6, bias=False),
    ],
    ids=["dilated", "grouped_reflect", "transposed", "transposed_depthwise"],
)
def test_2d_twins_of_1d_convolutions_give_their_outputs(layer):
    x = torch.randn(2, 6, 33)
    with torch.no_grad():
        expected = layer(x)
        got = Conv2dOf1d(layer)(channels_last_2d(x))
    torch.testing.assert_close(got.squeeze(2), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "pad", [nn.ReflectionPad1d(3), nn.ReplicationPad1d((2, 5)), nn.ConstantPad1d(2, 0.5)]
)
def test_2d_twins_of_1d_paddings_pad_the_time_axis(pad):
    x = torch.randn(1, 3, 9)
    torch.testing.assert_close(Pad2dOf1d(pad)(channels_last_2d(x)).squeeze(2), pad(x), rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["snake", "snakebeta"])
def test_bigvgans_fast_activation_equals_the_plain_one(kind):
    from audiogan.models.bigvgan import ACTIVATIONS, AntiAliasedActivation
    from audiogan.models.bigvgan_fast import FastAntiAliasedActivation

    activation = AntiAliasedActivation(ACTIVATIONS[kind](5, logscale=True))
    with torch.no_grad():
        for parameter in activation.parameters():
            parameter.uniform_(-0.5, 0.5)
    x = 2 * torch.randn(2, 5, 40)
    with torch.no_grad():
        expected = activation(x)
        got = FastAntiAliasedActivation(activation)(channels_last_2d(x)).squeeze(2)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
