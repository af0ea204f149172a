"""Mel-to-mel voice-conversion networks: a pix2pix-style conditional GAN on mels (Isola et al. 2017).

Both networks read mels [B, n_mels, frames] normalised by ``GlobalStats`` (about zero mean, unit variance).
Widths, depth and the learnable output scaling are the project's specification. The other choices are the
common image-to-image ones: kernel 7 input and output convs (CycleGAN's ResNet generator), kernel 4 /
stride 2 / padding 1 resampling convs and no BN on D's first layer (DCGAN, pix2pix). The time-axis padding
that makes any length work is documented on each class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

# Every resampling conv: kernel 4, stride 2, padding 1 halves an even length exactly (and a transposed one
# doubles it), so a stack of n of them maps a multiple of 2**n frames back and forth without remainder.
_KERNEL, _STRIDE, _PADDING = 4, 2, 1


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Repeat the last frame until the time axis is a multiple of ``multiple``.

    Edge replication rather than reflection works for any length (even one frame), and rather than zeros it
    adds no step a strided conv could mistake for content.
    """
    extra = -x.shape[-1] % multiple
    return F.pad(x, (0, extra), mode="replicate") if extra else x


class LearnableScaling(nn.Module):
    """``x * scale + bias`` per mel channel, the generator's output layer in place of tanh.

    Normalised mels are unbounded and their spread varies by channel; a learnable affine output keeps that
    range reachable where tanh would squash it into [-1, 1]. ``scale`` starts at 3.0 and ``bias`` at 0.0
    (the project's defaults: an output spread of about 3 around a mean of about 0).
    """

    def __init__(self, channels: int = 80, scale: float = 3.0, bias: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.full((1, channels, 1), float(scale)))
        self.bias = nn.Parameter(torch.full((1, channels, 1), float(bias)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


class ResidualBlock(nn.Module):
    """conv3 + BN + ReLU, conv3 + BN, add the input, ReLU (He et al. 2016); length and width preserved."""

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm1d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class ImprovedGenerator(nn.Module):
    """Source mel [B, input_channels, T] -> converted mel [B, output_channels, T], for any T >= 1.

    Encoder: a kernel-7 conv to ``hidden_channels``, then ``n_downsample`` convs (kernel 4, stride 2,
    padding 1) doubling the width each time, each with BN and LeakyReLU; ``n_residual_blocks`` residual
    blocks at the widest width; a mirror decoder of transposed convs (kernel 4, stride 2, padding 1) halving
    the width, each with BN and ReLU; a kernel-7 conv to ``output_channels``; ``LearnableScaling``. At the
    defaults: 80 -> 512 -> 1024 -> 2048 -> 4096, 3 blocks, 4096 -> 2048 -> 1024 -> 512 -> 80.

    Lengths: the time axis is downsampled by 2**n_downsample (8 at the defaults). The input is padded at the
    end, by repeating its last frame, up to the next multiple of 8; each stride-2 conv then halves the length
    exactly and each transposed conv doubles it, and the output is cropped back to T frames. So output frame
    t lines up with input frame t for every T.
    """

    def __init__(
        self,
        input_channels: int = 80,
        output_channels: int = 80,
        hidden_channels: int = 512,
        n_downsample: int = 3,
        n_residual_blocks: int = 3,
        kernel_size: int = 7,
        leaky_relu_slope: float = 0.2,
        scale: float = 3.0,
        bias: float = 0.0,
    ):
        super().__init__()
        widths = [hidden_channels * 2**i for i in range(n_downsample + 1)]
        encoder: list[nn.Module] = [
            nn.Conv1d(input_channels, hidden_channels, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm1d(hidden_channels),
            nn.LeakyReLU(leaky_relu_slope),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            encoder += [
                nn.Conv1d(c_in, c_out, _KERNEL, stride=_STRIDE, padding=_PADDING),
                nn.BatchNorm1d(c_out),
                nn.LeakyReLU(leaky_relu_slope),
            ]
        self.encoder = nn.Sequential(*encoder)
        self.residual_blocks = nn.Sequential(*(ResidualBlock(widths[-1]) for _ in range(n_residual_blocks)))
        decoder: list[nn.Module] = []
        for c_in, c_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
            decoder += [
                nn.ConvTranspose1d(c_in, c_out, _KERNEL, stride=_STRIDE, padding=_PADDING),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
            ]
        decoder.append(nn.Conv1d(hidden_channels, output_channels, kernel_size, padding=kernel_size // 2))
        self.decoder = nn.Sequential(*decoder)
        self.output_scaling = LearnableScaling(output_channels, scale, bias)
        self.total_stride = _STRIDE**n_downsample

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        frames = mel.shape[-1]
        x = self.encoder(_pad_to_multiple(mel, self.total_stride))
        x = self.decoder(self.residual_blocks(x))
        return self.output_scaling(x[..., :frames])


class ImprovedDiscriminator(nn.Module):
    """Mel [B, input_channels, T] -> real/fake logits [B, ceil(T / 16)], one per 16-frame patch, any T >= 1.

    ``n_layers`` spectrally normalised convs (kernel 4, stride 2, padding 1) doubling the width from
    ``hidden_channels`` (80 -> 512 -> 1024 -> 2048 -> 4096 at the defaults), each followed by BN (except the
    first, as in DCGAN) and LeakyReLU(0.2); then a spectrally normalised kernel-4 conv to one channel.
    Every conv has spectral norm (Miyato et al. 2018). There is no final sigmoid: the outputs are logits
    and the loss applies the sigmoid (BCE with logits), the same model, numerically safe.

    Lengths: the input is padded at the end, by repeating its last frame, to a multiple of 2**n_layers (16 at
    the defaults), so each stride-2 conv halves it exactly and every input frame is seen. The last conv pads
    (1, 2) zeros, the length-preserving split for an even kernel, where an unpadded conv would need
    T >= 64 and drop 3 patches, so there is one logit per 16 input frames, rounded up.
    The loss averages over patches, PatchGAN-style.
    """

    def __init__(
        self,
        input_channels: int = 80,
        hidden_channels: int = 512,
        n_layers: int = 4,
        leaky_relu_slope: float = 0.2,
    ):
        super().__init__()
        widths = [input_channels] + [hidden_channels * 2**i for i in range(n_layers)]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(spectral_norm(nn.Conv1d(c_in, c_out, _KERNEL, stride=_STRIDE, padding=_PADDING)))
            if i > 0:
                layers.append(nn.BatchNorm1d(c_out))
            layers.append(nn.LeakyReLU(leaky_relu_slope))
        layers += [
            nn.ConstantPad1d(((_KERNEL - 1) // 2, _KERNEL // 2), 0.0),
            spectral_norm(nn.Conv1d(widths[-1], 1, _KERNEL)),
        ]
        self.model = nn.Sequential(*layers)
        self.total_stride = _STRIDE**n_layers

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.model(_pad_to_multiple(mel, self.total_stride)).squeeze(1)
