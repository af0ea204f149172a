"""BigVGAN's anti-aliased activation on the fast inference path (:mod:`audiogan.inference.fast_path`):
what :class:`~audiogan.models.bigvgan.AntiAliasedActivation` computes, on [B, C, 1, T] channels-last.

Reorganised for the CPU, the same results to float rounding:

* the resampling filters are depthwise (1, 12) 2-D convolutions on the channels-last signal (about half the
  time of the 1-D depthwise ones on long signals), their taps expanded per channel once, and the upsampler's
  gain folded into its taps instead of multiplying the upsampled signal;
* Snake's per-channel alpha and 1 / beta are computed once, and ``x + sin(alpha x)^2 / beta`` is one
  ``addcmul``.

``AntiAliasedActivation.fast_inference_layer`` names this class; the fast path imports it from there."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.inference.fast_path import as_2d_weight
from audiogan.models.bigvgan import AntiAliasedActivation


class FastAntiAliasedActivation(nn.Module):
    """A trained ``AntiAliasedActivation`` (snapshot) on [B, C, 1, T] channels-last -> [B, C, 1, T]."""

    def __init__(self, activation: AntiAliasedActivation):
        super().__init__()
        act, up, down = activation.act, activation.upsample, activation.downsample.lowpass
        channels = act.alpha.shape[0]
        self.channels, self.ratio, self.stride = channels, up.ratio, down.stride
        self.register_buffer("up_taps", as_2d_weight((up.ratio * up.filter).expand(channels, -1, -1)))
        self.register_buffer("down_taps", as_2d_weight(down.filter.expand(channels, -1, -1)))
        self.up_pad, self.crop = (up.pad, up.pad, 0, 0), up.crop
        self.down_pad = (*down.pad, 0, 0)
        with torch.no_grad():
            alpha = act.scaled(act.alpha)
            beta = act.scaled(act.beta) if hasattr(act, "beta") else alpha  # Snake divides by alpha itself
            self.register_buffer("alpha", alpha.reshape(1, channels, 1, 1).clone())
            self.register_buffer("inv_beta", (1.0 / (beta + 1e-9)).reshape(1, channels, 1, 1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.up_pad, mode="replicate")
        x = F.conv_transpose2d(x, self.up_taps, stride=(1, self.ratio), groups=self.channels)
        x = x[..., self.crop[0] : x.shape[-1] - self.crop[1]]
        periodic = torch.sin(x * self.alpha)
        x = torch.addcmul(x, periodic, periodic * self.inv_beta)
        x = F.pad(x, self.down_pad, mode="replicate")
        return F.conv2d(x, self.down_taps, stride=(1, self.stride), groups=self.channels)
