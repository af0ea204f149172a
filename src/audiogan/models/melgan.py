"""MelGAN generator and multi-scale discriminator (Kumar et al. 2019, official-code layout)."""

from __future__ import annotations

import math

import torch
from torch import nn

from audiogan.models.layers import wn_conv1d, wn_conv_transpose1d


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
        x = self.conv_pre(mel)
        for stage in self.stages:
            x = stage(x)
        return self.conv_post(x)


class ScaleDiscriminator(nn.Module):
    """One scale of the MelGAN discriminator: grouped strided convs; returns every layer's output."""

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
        """x [B, 1, T] -> every layer's output [B, C, T'], the last being the logits."""
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MelGANDiscriminator(nn.Module):
    """Multi-scale discriminator: the same architecture on audio average-pooled by 1, 2, 4, ...

    ``separate_passes``: score real and fake audio in two passes, as the official code, rather than one joint
    pass (:func:`audiogan.models.layers.joint_pass`). The outputs are the same; the gradients differ in their
    last bits (another summation order), which Adam's per-element normalisation lifts to a visible part of a
    step on the few biases whose gradient nearly cancels.
    """

    def __init__(
        self,
        num_scales: int = 3,
        ndf: int = 16,
        n_layers: int = 4,
        downsampling_factor: int = 4,
        leaky_relu_slope: float = 0.2,
        separate_passes: bool = False,
    ):
        super().__init__()
        self.separate_passes = separate_passes
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
