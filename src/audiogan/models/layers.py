"""Layers shared by the GAN families."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm


def wn_conv1d(*args, **kwargs) -> nn.Module:
    """Weight-normed Conv1d (parametrization API; the hook-based one is deprecated)."""
    return weight_norm(nn.Conv1d(*args, **kwargs))


def wn_conv2d(*args, **kwargs) -> nn.Module:
    """Weight-normed Conv2d."""
    return weight_norm(nn.Conv2d(*args, **kwargs))


class Resample(torchaudio.transforms.Resample):
    """torchaudio's windowed-sinc ``Resample`` (its kernel buffer, its output) for waveforms [..., T], with
    the output length ceil(T * new / orig) computed in Python: torchaudio computes it as a tensor, which
    breaks a torch.compile graph in every discriminator that resamples."""

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.orig_freq == self.new_freq:
            return waveform
        orig, new = self.orig_freq // self.gcd, self.new_freq // self.gcd
        *batch, length = waveform.shape
        padded = F.pad(waveform.reshape(-1, 1, length), (self.width, self.width + orig))
        phases = F.conv1d(padded, self.kernel, stride=orig)  # [N, new, T / orig]: one row per output phase
        resampled = phases.transpose(1, 2).reshape(padded.shape[0], -1)[:, : math.ceil(length * new / orig)]
        return resampled.reshape(*batch, -1)


def wn_conv_transpose1d(*args, **kwargs) -> nn.Module:
    """Weight-normed ConvTranspose1d."""
    return weight_norm(nn.ConvTranspose1d(*args, **kwargs))


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Bake every parametrization (weight norm, spectral norm) into a plain weight, in place.

    At inference the weight is then not recomputed on every forward. Safe on a ``copy.deepcopy`` of a
    parametrized module: torch's deepcopy shares the generated parametrized class between original and copy,
    and ``remove_parametrizations`` deletes the property from that class, which would break the original.
    Each module is therefore moved onto a private copy of its class first. Returns ``module`` for chaining.
    """
    for sub in list(module.modules()):
        if parametrize.is_parametrized(sub):
            cls = type(sub)
            sub.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))
            for name in list(sub.parametrizations):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
    return module


def branch_mean(x: torch.Tensor, branches: Sequence[nn.Module]) -> torch.Tensor:
    """The mean of ``branch(x)`` over ``branches``, summed in their order then divided (HiFi-GAN's MRF,
    BigVGAN's AMP blocks): bit-equal to the official code's running sum, with no pass over a zero tensor."""
    first, *others = branches
    total = first(x)
    for branch in others:
        total = total + branch(x)
    return total / len(branches)


def leaky_conv_stack(
    x: torch.Tensor, convs: nn.ModuleList, conv_post: nn.Module, slope: float
) -> list[torch.Tensor]:
    """A discriminator branch's body: each conv then a leaky ReLU of ``slope``, every output kept, and the
    logits of ``conv_post`` last (HiFi-GAN's MPD and MSD, BigVGAN's MRD and CQT-D)."""
    features = []
    for conv in convs:
        x = torch.nn.functional.leaky_relu(conv(x), slope)
        features.append(x)
    features.append(conv_post(x))
    return features


def joint_pass(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """A multi-branch discriminator's outputs (per branch: feature maps, then logits) for ``real`` and
    ``fake`` [B, ...], from one pass over both: bigger convolutions run faster, and a D with batch statistics
    normalises real and fake alike, so feature-matching terms see a level or spectral difference that
    separate passes would normalise away. A discriminator with a ``pair_pass(real, fake)`` method scores the
    pair itself (some of its parts must see real and fake apart); one whose ``separate_passes`` is true is
    run on real, then fake, as two passes (one whose every forward changes its state, like hook spectral
    norm)."""
    if hasattr(discriminator, "pair_pass"):
        return discriminator.pair_pass(real, fake)
    if getattr(discriminator, "separate_passes", False):
        return discriminator(real), discriminator(fake)
    return split_pair(discriminator(torch.cat([real, fake])), real.shape[0])


def split_pair(
    branches: list[list[torch.Tensor]], n: int
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Outputs of one pass over ``torch.cat([real, fake])`` (``n`` real items first) as (real, fake)."""
    return [[f[:n] for f in branch] for branch in branches], [[f[n:] for f in branch] for branch in branches]
