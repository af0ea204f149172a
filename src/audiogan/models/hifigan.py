"""HiFi-GAN vocoder networks (Kong, Kim & Bae, NeurIPS 2020, arXiv 2010.05646; official code
https://github.com/jik876/hifi-gan): a transposed-conv generator with multi-receptive-field fusion (MRF), a
multi-period discriminator (MPD) and a multi-scale discriminator (MSD).

The sizes (V1 / V2 / V3 generators, the discriminators) live in conf/model/hifigan.yaml.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm as hook_spectral_norm
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from audiogan.models.layers import (
    branch_mean,
    joint_pass,
    leaky_conv_stack,
    split_pair,
    wn_conv1d,
    wn_conv_transpose1d,
)


def _same_padding(kernel_size: int, dilation: int = 1) -> int:
    return dilation * (kernel_size - 1) // 2


class ResBlock1(nn.Module):
    """MRF branch of V1/V2: per dilation d, x += conv_1(lrelu(conv_d(lrelu(x)))), length-preserving."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int], slope: float):
        super().__init__()
        self.slope = slope
        self.dilated = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.plain = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size)) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.dilated, self.plain, strict=True):
            h = dilated(F.leaky_relu(x, self.slope))
            x = x + plain(F.leaky_relu(h, self.slope))
        return x


class ResBlock2(nn.Module):
    """MRF branch of V3 (lighter): per dilation d, x += conv_d(lrelu(x))."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int], slope: float):
        super().__init__()
        self.slope = slope
        self.dilated = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated in self.dilated:
            x = x + dilated(F.leaky_relu(x, self.slope))
        return x


RESBLOCKS = {1: ResBlock1, 2: ResBlock2}


class HiFiGANGenerator(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, 1, frames * hop] in [-1, 1], hop = prod(upsample_rates).

    conv_pre (k7) to ``channels``; per upsampling stage a LeakyReLU and a transposed conv (channels halve),
    then MRF: the mean of one residual block per (kernel size, dilations) pair; then LeakyReLU (torch's
    default slope 0.01, as the official code), conv_post (k7) to one channel, tanh. Weight norm on every conv.
    """

    def __init__(
        self,
        n_mels: int = 80,
        channels: int = 512,
        upsample_rates: Sequence[int] = (8, 8, 2, 2),
        upsample_kernel_sizes: Sequence[int] = (16, 16, 4, 4),
        resblock: int = 1,
        resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
        resblock_dilations: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        leaky_relu_slope: float = 0.1,
    ):
        super().__init__()
        self.n_mels = n_mels
        self.upsample_rates = tuple(upsample_rates)
        self.slope = leaky_relu_slope
        self.conv_pre = wn_conv1d(n_mels, channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        block = RESBLOCKS[resblock]
        for rate, kernel in zip(self.upsample_rates, upsample_kernel_sizes, strict=True):
            padding = (kernel - rate) // 2
            self.ups.append(wn_conv_transpose1d(channels, channels // 2, kernel, rate, padding))
            channels //= 2
            self.mrfs.append(
                nn.ModuleList(
                    block(channels, k, d, leaky_relu_slope)
                    for k, d in zip(resblock_kernel_sizes, resblock_dilations, strict=True)
                )
            )
        self.conv_post = wn_conv1d(channels, 1, 7, padding=3)

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsample_rates)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs, strict=True):
            x = up(F.leaky_relu(x, self.slope))
            x = branch_mean(x, mrf)
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


class PeriodDiscriminator(nn.Module):
    """MPD branch: audio [B, 1, T] reflect-padded to a multiple of ``period`` and folded to [B, 1, T/p, p];
    (k, 1) convs with stride (3, 1) see every p-th sample. Returns every layer's output, logits last."""

    def __init__(
        self,
        period: int,
        channels: Sequence[int] = (32, 128, 512, 1024, 1024),
        kernel_size: int = 5,
        stride: int = 3,
        leaky_relu_slope: float = 0.1,
    ):
        super().__init__()
        self.period, self.slope = period, leaky_relu_slope
        pad = (_same_padding(kernel_size), 0)
        sizes = [1, *channels]
        self.convs = nn.ModuleList(
            weight_norm(
                nn.Conv2d(c_in, c_out, (kernel_size, 1), (stride if i < len(channels) - 1 else 1, 1), pad)
            )
            for i, (c_in, c_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
        )
        self.conv_post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), 1, (1, 0)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.pad(x, (0, -x.shape[-1] % self.period), mode="reflect")
        x = x.reshape(x.shape[0], x.shape[1], -1, self.period)
        return leaky_conv_stack(x, self.convs, self.conv_post, self.slope)


class MultiPeriodDiscriminator(nn.Module):
    """One PeriodDiscriminator per period (officially 2, 3, 5, 7, 11: primes, so they overlap little)."""

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        channels: Sequence[int] = (32, 128, 512, 1024, 1024),
        leaky_relu_slope: float = 0.1,
    ):
        super().__init__()
        self.branches = nn.ModuleList(
            PeriodDiscriminator(p, channels, leaky_relu_slope=leaky_relu_slope) for p in periods
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [branch(x) for branch in self.branches]


# the parametrization's spectral-norm entries -> the hook's: the same weight and singular vectors
SPECTRAL_NORM_NAMES = {
    "parametrizations.weight.original": "weight_orig",
    "parametrizations.weight.0._u": "weight_u",
    "parametrizations.weight.0._v": "weight_v",
}


def _rename_entries(state_dict, prefix, *args, names: dict[str, str], **kwargs) -> None:
    """A load_state_dict pre-hook: entries under ``prefix`` named by a key of ``names`` take its value's name,
    so checkpoints written with either spectral norm load into either."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        for old, new in names.items():
            if key.endswith(f".{old}"):
                state_dict[key.removesuffix(old) + new] = state_dict.pop(key)


class ScaleDiscriminator(nn.Module):
    """MSD branch on raw or average-pooled audio [B, 1, T]: grouped strided 1-D convs, logits last.

    ``layers``: (out_channels, kernel, stride, groups) per conv; ``norm``: "weight", "spectral" (the
    parametrization) or "spectral_hook" (see :class:`MultiScaleDiscriminator`).
    """

    def __init__(self, layers: Sequence[Sequence[int]], norm: str = "weight", leaky_relu_slope: float = 0.1):
        super().__init__()
        wrap = {"weight": weight_norm, "spectral": spectral_norm, "spectral_hook": hook_spectral_norm}[norm]
        self.slope = leaky_relu_slope
        convs, c_in = [], 1
        for c_out, kernel, stride, groups in layers:
            convs.append(wrap(nn.Conv1d(c_in, c_out, kernel, stride, _same_padding(kernel), groups=groups)))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.conv_post = wrap(nn.Conv1d(c_in, 1, 3, 1, padding=1))
        # spectral norm's power iteration advances at every training forward: two passes differ from one
        self.stateful = norm.startswith("spectral")
        if norm.startswith("spectral"):
            names = (
                SPECTRAL_NORM_NAMES
                if norm == "spectral_hook"
                else {v: k for k, v in SPECTRAL_NORM_NAMES.items()}
            )
            self._register_load_state_dict_pre_hook(functools.partial(_rename_entries, names=names))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return leaky_conv_stack(x, self.convs, self.conv_post, self.slope)


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` ScaleDiscriminators on audio average-pooled x1, x2, x4, ...; spectral norm on the
    first (raw audio), weight norm on the others, as the paper.

    ``spectral_norm``: "hook" is the official code's ``torch.nn.utils.spectral_norm`` (random u and v, one
    power iteration, v then u, per training forward; keys ``weight_orig`` / ``weight_u`` / ``weight_v``);
    "parametrization" is ``torch.nn.utils.parametrizations.spectral_norm`` (15 iterations when wrapped, then
    one, u then v, per forward). The two estimates of the largest singular value converge alike, but
    differ on a fresh network (scale 0's first feature map by ~6e-2).
    """

    def __init__(
        self,
        layers: Sequence[Sequence[int]],
        num_scales: int = 3,
        leaky_relu_slope: float = 0.1,
        spectral_norm: str = "parametrization",
    ):
        super().__init__()
        first = {"hook": "spectral_hook", "parametrization": "spectral"}[spectral_norm]
        self.branches = nn.ModuleList(
            ScaleDiscriminator(layers, first if i == 0 else "weight", leaky_relu_slope)
            for i in range(num_scales)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for i, branch in enumerate(self.branches):
            if i > 0:
                x = self.pool(x)
            outputs.append(branch(x))
        return outputs

    def pair_pass(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
        """(real outputs, fake outputs) scale by scale: a stateful scale (spectral norm) scores real, then
        fake, as two whole passes would; the others score both in one pass (bigger convolutions run faster).
        Each output equals that of a pass over real followed by a pass over fake."""
        real_outputs, fake_outputs = [], []
        for i, branch in enumerate(self.branches):
            if i > 0:
                real, fake = self.pool(real), self.pool(fake)
            if branch.stateful:
                real_outputs.append(branch(real))
                fake_outputs.append(branch(fake))
            else:
                (real_branch,), (fake_branch,) = split_pair([branch(torch.cat([real, fake]))], real.shape[0])
                real_outputs.append(real_branch)
                fake_outputs.append(fake_branch)
        return real_outputs, fake_outputs


class HiFiGANDiscriminator(nn.Module):
    """MPD and MSD together: audio [B, 1, T] -> per sub-discriminator (periods first, then scales) the list
    of its feature maps, the last being its logits.

    ``separate_passes``: score real and fake audio as the official code's two passes do, rather than in one
    joint pass (:func:`audiogan.models.layers.joint_pass`); with the hook spectral norm, whose power iteration
    runs once per forward, this is what makes each step equal the official one. Only the spectral-norm scale
    needs it: the other sub-discriminators score real and fake in one pass all the same (:meth:`pair_pass`),
    the same outputs from bigger, faster convolutions.
    """

    def __init__(self, mpd: nn.Module, msd: nn.Module, separate_passes: bool = False):
        super().__init__()
        self.mpd, self.msd = mpd, msd
        self.separate_passes = separate_passes

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return self.mpd(x) + self.msd(x)

    def pair_pass(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
        """(real branches, fake branches): one joint pass, or with ``separate_passes`` each
        sub-discriminator's own pair pass (the stateless MPD jointly, the MSD scale by scale)."""
        if not self.separate_passes:
            return split_pair(self(torch.cat([real, fake])), real.shape[0])
        mpd_real, mpd_fake = joint_pass(self.mpd, real, fake)
        msd_real, msd_fake = joint_pass(self.msd, real, fake)
        return mpd_real + msd_real, mpd_fake + msd_fake

    def matched_features(self, branches: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
        """What feature matching compares: every entry of every branch, logits included (as the official)."""
        return branches
