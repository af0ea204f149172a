"""MelGAN generator and multi-scale discriminator (Kumar et al. 2019, official-code layout)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.models.layers import (
    channels_last_pays,
    conv_cl,
    conv_cl_add_,
    conv_module_cl,
    leaky_relu_reflect_pad_cl,
    reflect_pad_cl,
    to_channels_last_2d,
    wn_conv1d,
    wn_conv_transpose1d,
)


class ResidualBlock(nn.Module):
    """Dilated conv block plus a learned 1x1 shortcut (official code; the paper figure shows an identity)."""

    def __init__(self, channels: int, dilation: int, kernel_size: int = 3, leaky_relu_slope: float = 0.2):
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(leaky_relu_slope),
            nn.ReflectionPad1d(dilation * (kernel_size - 1) // 2),
            wn_conv1d(channels, channels, kernel_size, dilation=dilation),
            nn.LeakyReLU(leaky_relu_slope),
            wn_conv1d(channels, channels, 1),
        )
        self.shortcut = wn_conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)

    def forward_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """The same on a [B, C, 1, T] channels-last signal, with no tensor materialised twice.

        Padding first lets the LeakyReLU run in place (reflection commutes with it) while ``x`` stays intact
        for the shortcut; the residual is added into the shortcut's fresh output.
        """
        act, pad, conv, _, conv1 = self.block
        h = F.leaky_relu_(reflect_pad_cl(x, pad.padding[0]), act.negative_slope)
        h = F.leaky_relu_(conv_module_cl(conv, h), act.negative_slope)
        return conv_module_cl(self.shortcut, x).add_(conv_module_cl(conv1, h))


class MelGANGenerator(nn.Module):
    """Mel spectrogram [B, n_mels, frames] -> waveform [B, 1, frames * hop] in [-1, 1]."""

    def __init__(
        self,
        n_mels: int = 80,
        ngf: int = 32,
        ratios: tuple[int, ...] | list[int] = (8, 8, 2, 2),
        n_residual_layers: int = 3,
        kernel_size: int = 7,
        leaky_relu_slope: float = 0.2,
    ):
        super().__init__()
        self.n_mels = n_mels
        self.ratios = tuple(ratios)
        self.leaky_relu_slope = leaky_relu_slope
        channels = ngf * 2 ** len(self.ratios)
        self.conv_pre = nn.Sequential(
            nn.ReflectionPad1d(kernel_size // 2), wn_conv1d(n_mels, channels, kernel_size)
        )
        self.stages = nn.ModuleList()
        for r in self.ratios:
            upsample = wn_conv_transpose1d(
                channels, channels // 2, 2 * r, stride=r, padding=r // 2 + r % 2, output_padding=r % 2
            )
            channels //= 2
            blocks = [
                ResidualBlock(channels, 3**j, leaky_relu_slope=leaky_relu_slope)
                for j in range(n_residual_layers)
            ]
            self.stages.append(nn.Sequential(nn.LeakyReLU(leaky_relu_slope), upsample, *blocks))
        self.conv_post = nn.Sequential(
            nn.LeakyReLU(leaky_relu_slope),
            nn.ReflectionPad1d(kernel_size // 2),
            wn_conv1d(channels, 1, kernel_size),
            nn.Tanh(),
        )

    @property
    def hop_length(self) -> int:
        return math.prod(self.ratios)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if channels_last_pays(mel):
            return self._forward_channels_last(mel)
        x = self.conv_pre(mel)
        for stage in self.stages:
            x = stage(x)
        return self.conv_post(x)

    def _forward_channels_last(self, mel: torch.Tensor) -> torch.Tensor:
        """The same network on [B, C, 1, T] channels-last signals (oneDNN then needs no layout reorders).

        Every LeakyReLU runs in place: each follows a fresh tensor that nothing else reads.
        """
        slope = self.leaky_relu_slope
        pad, conv = self.conv_pre
        x = conv_module_cl(conv, to_channels_last_2d(F.pad(mel, (pad.padding[0],) * 2, mode="reflect")))
        for stage in self.stages:
            _, upsample, *blocks = stage
            x = conv_module_cl(upsample, F.leaky_relu_(x, slope))
            for block in blocks:
                x = block.forward_channels_last(x)
        _, pad, conv, _ = self.conv_post
        x = reflect_pad_cl(F.leaky_relu_(x, slope), pad.padding[0])
        return torch.tanh(conv_module_cl(conv, x)).squeeze(2)


class _BakedConv(nn.Module):
    """A conv's effective weight (weight norm applied) as a channels-last [*, *, 1, k] buffer, plus bias."""

    def __init__(self, conv: nn.Module, bias: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("weight", to_channels_last_2d(conv.weight.detach()))
        self.register_buffer("bias", (conv.bias if bias is None else bias).detach().clone())
        self.transposed = isinstance(conv, nn.ConvTranspose1d)
        self.stride, self.padding, self.dilation = conv.stride[0], conv.padding[0], conv.dilation[0]
        self.output_padding = conv.output_padding[0]

    def forward(self, x: torch.Tensor, activation: str = "none", slope: float = 0.2) -> torch.Tensor:
        if self.transposed:
            return F.conv_transpose2d(
                x,
                self.weight,
                self.bias,
                stride=(1, self.stride),
                padding=(0, self.padding),
                output_padding=(0, self.output_padding),
            )
        return conv_cl(x, self.weight, self.bias, self.padding, self.dilation, activation, slope)


class _BakedResidualBlock(nn.Module):
    """ResidualBlock with the residual add folded into the second 1x1 conv and both 1x1 biases summed."""

    def __init__(self, block: ResidualBlock):
        super().__init__()
        _, pad, conv, _, conv1 = block.block
        self.pad = pad.padding[0]
        self.conv = _BakedConv(conv)
        self.register_buffer("w1", to_channels_last_2d(conv1.weight.detach()))
        self.shortcut = _BakedConv(block.shortcut, bias=block.shortcut.bias + conv1.bias)

    def forward(self, x: torch.Tensor, slope: float) -> torch.Tensor:
        h = self.conv(leaky_relu_reflect_pad_cl(x, self.pad, slope), "leaky_relu", slope)
        return conv_cl_add_(self.shortcut(x), h, self.w1)


class MelGANInference(nn.Module):
    """Inference-only copy of a MelGANGenerator: the same outputs (to float rounding), ~1.9x faster on CPU.

    Weight norm is baked in; signals stay channels-last so oneDNN needs no layout reorders (this alone halves
    the transposed convs' time); LeakyReLU and tanh run as convolution post-ops; the residual add is
    accumulated by the second 1x1 conv (sum post-op); reflection padding is written in the same pass as the
    block's first LeakyReLU. Runs in the dtype of its weights (``.to(torch.bfloat16)`` for bf16, ~2x faster
    again with AVX512-BF16) and returns audio in the mel's dtype. No autograd.
    """

    def __init__(self, generator: MelGANGenerator):
        super().__init__()
        self.hop_length = generator.hop_length
        self.slope = generator.leaky_relu_slope
        with torch.no_grad():
            self.pre_pad = generator.conv_pre[0].padding[0]
            self.pre = _BakedConv(generator.conv_pre[1])
            self.ups = nn.ModuleList(_BakedConv(stage[1]) for stage in generator.stages)
            self.blocks = nn.ModuleList(
                nn.ModuleList(_BakedResidualBlock(block) for block in stage[2:]) for stage in generator.stages
            )
            self.post_pad = generator.conv_post[1].padding[0]
            self.post = _BakedConv(generator.conv_post[2])

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        with torch.autocast(mel.device.type, enabled=False):  # dtype is chosen by the weights, not autocast
            x = F.pad(mel.to(self.pre.weight.dtype), (self.pre_pad, self.pre_pad), mode="reflect")
            x = self.pre(to_channels_last_2d(x), "leaky_relu", self.slope)
            for i, (up, blocks) in enumerate(zip(self.ups, self.blocks, strict=True)):
                if i > 0:
                    x = F.leaky_relu(x, self.slope, inplace=True)
                x = up(x)
                for block in blocks:
                    x = block(x, self.slope)
            x = leaky_relu_reflect_pad_cl(x, self.post_pad, self.slope)
            audio = self.post(x, "tanh")
        return audio.reshape(audio.shape[0], 1, -1).to(mel.dtype)


class ScaleDiscriminator(nn.Module):
    """One scale of the MelGAN discriminator: grouped strided convs; returns every layer's output."""

    channels_last_layers = 2

    def __init__(
        self, ndf: int = 16, n_layers: int = 4, downsampling_factor: int = 4, leaky_relu_slope: float = 0.2
    ):
        super().__init__()
        stride = downsampling_factor
        layers = [nn.Sequential(nn.ReflectionPad1d(7), wn_conv1d(1, ndf, 15), nn.LeakyReLU(leaky_relu_slope))]
        nf = ndf
        for _ in range(n_layers):
            nf_prev, nf = nf, min(nf * stride, 1024)
            conv = wn_conv1d(
                nf_prev, nf, stride * 10 + 1, stride=stride, padding=stride * 5, groups=nf_prev // 4
            )
            layers.append(nn.Sequential(conv, nn.LeakyReLU(leaky_relu_slope)))
        nf_out = min(nf * 2, 1024)
        layers.append(nn.Sequential(wn_conv1d(nf, nf_out, 5, padding=2), nn.LeakyReLU(leaky_relu_slope)))
        layers.append(wn_conv1d(nf_out, 1, 3, padding=1))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 1, T] -> every layer's output [B, C, T'], the last being the logits.

        While its weights train on CPU, the first ``channels_last_layers`` layers run channels-last, where
        oneDNN computes the weight gradient of the first grouped conv (16 -> 64 channels) ~2.5x faster; the
        wider convs get up to 2x slower there, and so does everything without weight gradients (D frozen for
        the G update), so those stay [B, C, T]. Channels-last features are time-major views.
        """
        features = []
        weight_grads = torch.is_grad_enabled() and any(p.requires_grad for p in self.layers[1].parameters())
        if weight_grads and channels_last_pays(x):
            # one channel: torch reads the strides of unsqueeze(2) as contiguous; clone sets channels-last
            x = x.unsqueeze(2).clone(memory_format=torch.channels_last)
            for layer in self.layers[: self.channels_last_layers]:
                for module in layer:
                    if isinstance(module, nn.ReflectionPad1d):
                        x = reflect_pad_cl(x, module.padding[0])
                    elif isinstance(module, nn.LeakyReLU):
                        x = F.leaky_relu_(x, module.negative_slope)  # a conv output its backward won't read
                    else:
                        x = conv_module_cl(module, x)
                features.append(x.squeeze(2))
            x = features[-1].contiguous()
        for layer in self.layers[len(features) :]:
            x = layer(x)
            features.append(x)
        return features


class MelGANDiscriminator(nn.Module):
    """Multi-scale discriminator: the same architecture on audio average-pooled by 1, 2, 4, ..."""

    def __init__(
        self,
        num_scales: int = 3,
        ndf: int = 16,
        n_layers: int = 4,
        downsampling_factor: int = 4,
        leaky_relu_slope: float = 0.2,
    ):
        super().__init__()
        self.scales = nn.ModuleList(
            ScaleDiscriminator(ndf, n_layers, downsampling_factor, leaky_relu_slope)
            for _ in range(num_scales)
        )
        self.downsample = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """x [B, 1, T] -> per scale, the list of feature maps; the last map of each scale is its logits."""
        outputs = []
        for i, scale in enumerate(self.scales):
            if i > 0:
                x = self.downsample(x)
            outputs.append(scale(x))
        return outputs
