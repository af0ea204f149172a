"""Fast inference copy of a trained MelGAN generator, kept apart from the network (public PyTorch APIs only).

:class:`FastMelGANGenerator` computes what ``MelGANGenerator.forward`` computes, reorganised for speed:

* every 1-D signal [B, C, T] is carried as a 2-D channels-last [B, C, 1, T] tensor (time-major, channels
  contiguous) and every conv runs as its (1, k) 2-D equivalent: on the CPU, oneDNN then needs no layout
  reorders around the convolutions. This carries the gain; baking the weights alone hardly changes the time;
* weight norm is baked into those 2-D weights once, instead of recomputed on every forward;
* no activation is materialised twice: LeakyReLU and tanh run in place on fresh conv outputs, and each
  residual block adds its two 1x1 convs' outputs in place (their biases summed once).

``benchmarks/melgan_inference.py`` measures it against the plain generator side by side (``make bench``); it
stays while it pays there (the figures, and why batched GPU inference is better served by the plain
generator: docs/measuring.md, "The fast MelGAN copy"). It runs on any device, but it is built for the CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.models.melgan import MelGANGenerator, ResidualBlock


def _channels_last_2d(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T] -> [B, C, 1, T] stored channels-last (time-major, channels contiguous)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflection padding of the time axis of [B, C, 1, T]; the 2-D op keeps the channels-last layout."""
    return F.pad(x, (pad, pad, 0, 0), mode="reflect")


class _BakedConv(nn.Module):
    """A Conv1d / ConvTranspose1d as its 2-D equivalent on [B, C, 1, T], with its effective weight (weight
    norm applied) baked and the given ``bias`` (a residual block moves one conv's bias into another's)."""

    def __init__(self, conv: nn.Conv1d | nn.ConvTranspose1d, bias: torch.Tensor | None):
        super().__init__()
        weight = conv.weight.detach().unsqueeze(2)
        self.register_buffer("weight", weight.clone(memory_format=torch.channels_last))  # never a view
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.transposed = isinstance(conv, nn.ConvTranspose1d)
        self.stride, self.padding = (1, conv.stride[0]), (0, conv.padding[0])
        self.dilation, self.output_padding = (1, conv.dilation[0]), (0, conv.output_padding[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed:
            return F.conv_transpose2d(
                x, self.weight, self.bias, self.stride, self.padding, self.output_padding, 1, self.dilation
            )
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class _FastResidualBlock(nn.Module):
    """``ResidualBlock`` on [B, C, 1, T]: the 1x1 shortcut carries both 1x1 biases, the other 1x1 conv's
    output is added into it in place. Padding comes first so the LeakyReLU can run in place on the padded
    copy (reflection commutes with it) while ``x`` stays intact for the shortcut."""

    def __init__(self, block: ResidualBlock):
        super().__init__()
        act, pad, conv, _, conv1 = block.block
        self.slope, self.pad = act.negative_slope, pad.padding[0]
        self.conv = _BakedConv(conv, conv.bias)
        self.conv1 = _BakedConv(conv1, None)
        self.shortcut = _BakedConv(block.shortcut, block.shortcut.bias + conv1.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu_(_reflect_pad(x, self.pad), self.slope)
        h = F.leaky_relu_(self.conv(h), self.slope)
        return self.shortcut(x).add_(self.conv1(h))


class FastMelGANGenerator(nn.Module):
    """Inference-only copy of a trained ``MelGANGenerator``: log-mel [B, n_mels, frames] -> waveform
    [B, 1, frames * hop] in [-1, 1], the same outputs to float rounding, faster on the CPU.

    A snapshot: later training of ``generator`` does not reach it. Runs in the dtype of its buffers
    (``.to(torch.bfloat16)`` for bf16) and returns audio in the mel's dtype. No autograd.
    """

    def __init__(self, generator: MelGANGenerator):
        super().__init__()
        self.hop_length = generator.hop_length
        self.slope = generator.leaky_relu_slope
        with torch.no_grad():
            pad, conv = generator.conv_pre
            self.pre_pad, self.pre = pad.padding[0], _BakedConv(conv, conv.bias)
            self.stages = nn.ModuleList(
                nn.Sequential(_BakedConv(upsample, upsample.bias), *(_FastResidualBlock(b) for b in blocks))
                for _, upsample, *blocks in generator.stages
            )
            _, pad, conv, _ = generator.conv_post
            self.post_pad, self.post = pad.padding[0], _BakedConv(conv, conv.bias)

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        with torch.autocast(mel.device.type, enabled=False):  # the buffers' dtype decides, not autocast
            x = F.pad(mel.to(self.pre.weight.dtype), (self.pre_pad, self.pre_pad), mode="reflect")
            x = self.pre(_channels_last_2d(x))
            for stage in self.stages:
                x = stage(F.leaky_relu_(x, self.slope))
            x = F.leaky_relu_(_reflect_pad(x, self.post_pad), self.slope)
            audio = torch.tanh_(self.post(x))
        return audio.squeeze(2).to(mel.dtype)
