"""The fast CPU inference path of a vocoder's generator, kept apart from the readable networks (public
PyTorch APIs only).

:func:`fast_inference_copy` gives a copy of any generator that computes what it computes, reorganised:

* weight norm baked into plain weights once (as :func:`audiogan.export.inference_copy`);
* every 1-D signal [B, C, T] carried as a 2-D channels-last [B, C, 1, T] tensor (time-major, channels
  contiguous) and every 1-D convolution run as its (1, k) 2-D equivalent. oneDNN's direct convolutions are
  much faster in this layout on long, narrow signals (measured on a 2-core AVX2 CPU: 0.3-0.5x the time of
  ``conv1d`` for 32-64 channels over 44k-88k samples, about equal at 256-512 channels), and no layout
  reorder is needed between layers as long as every layer keeps it.

The copy is built by swapping layers for their 2-D equivalents (:data:`FAST_LAYERS`: torch's 1-D convolutions
and paddings; a family's own layer names its equivalent in the class attribute ``fast_inference_layer``,
``"module:Class"``, imported only when a fast copy is made, so the speed code stays apart from the readable
network), the generator's own ``forward`` is left as it is: element-wise operations, sums and slices of the
last axis mean the same on [B, C, 1, T]. Whether the result is right is checked, not assumed: the copy must
give the plain copy's output (within ``FAST_TOLERANCE``) on a probe input, or the plain copy is used, with one
log line saying why.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.export import inference_copy

log = logging.getLogger(__name__)

# the largest difference to the plain copy's output that a fast copy may have (fp32, audio in [-1, 1])
FAST_TOLERANCE = 1e-4


def channels_last_2d(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T] -> [B, C, 1, T] stored channels-last (time-major, channels contiguous)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def as_2d_weight(weight: torch.Tensor) -> torch.Tensor:
    """A 1-D convolution's weight [out, in, k] as the channels-last weight [out, in, 1, k] of its 2-D twin."""
    return weight.detach().unsqueeze(2).clone(memory_format=torch.channels_last)


class Conv2dOf1d(nn.Module):
    """A ``Conv1d`` or ``ConvTranspose1d`` (weight norm already baked) as its (1, k) 2-D equivalent on
    [B, C, 1, T]; a non-zero padding mode is applied as an explicit pad first."""

    def __init__(self, conv: nn.Conv1d | nn.ConvTranspose1d):
        super().__init__()
        self.register_buffer("weight", as_2d_weight(conv.weight))
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())
        self.transposed = isinstance(conv, nn.ConvTranspose1d)
        self.pad_mode = None if conv.padding_mode == "zeros" else conv.padding_mode
        padding = conv.padding[0]
        self.explicit_pad = (padding, padding, 0, 0) if self.pad_mode else None
        self.stride, self.dilation = (1, conv.stride[0]), (1, conv.dilation[0])
        self.padding = (0, 0) if self.pad_mode else (0, padding)
        self.output_padding, self.groups = (0, conv.output_padding[0]), conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad_mode:
            x = F.pad(x, self.explicit_pad, mode=self.pad_mode)
        if self.transposed:
            return F.conv_transpose2d(
                x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                self.dilation,
            )  # fmt: skip
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Pad2dOf1d(nn.Module):
    """A 1-D padding layer (reflection, replication, constant) padding the last axis of [B, C, 1, T]."""

    MODES = {nn.ReflectionPad1d: "reflect", nn.ReplicationPad1d: "replicate", nn.ConstantPad1d: "constant"}

    def __init__(self, pad: nn.Module):
        super().__init__()
        self.mode = next(mode for kind, mode in self.MODES.items() if isinstance(pad, kind))
        self.pad = (*pad.padding, 0, 0)
        self.value = getattr(pad, "value", 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "constant":
            return F.pad(x, self.pad, value=self.value)
        return F.pad(x, self.pad, mode=self.mode)


FAST_LAYERS: dict[type[nn.Module], Callable[[nn.Module], nn.Module]] = {
    nn.Conv1d: Conv2dOf1d,
    nn.ConvTranspose1d: Conv2dOf1d,
    nn.ReflectionPad1d: Pad2dOf1d,
    nn.ReplicationPad1d: Pad2dOf1d,
    nn.ConstantPad1d: Pad2dOf1d,
}


def fast_equivalent(kind: type[nn.Module]) -> Callable[[nn.Module], nn.Module] | None:
    """What makes a ``kind`` layer's equivalent on [B, C, 1, T] channels-last (called with the layer, weight
    norm baked): from :data:`FAST_LAYERS`, else the class its ``fast_inference_layer`` names; else None."""
    if kind in FAST_LAYERS:
        return FAST_LAYERS[kind]
    declared = getattr(kind, "fast_inference_layer", None)
    if declared is None:
        return None
    module, name = declared.split(":")
    return getattr(importlib.import_module(module), name)


def _swap_layers(module: nn.Module) -> nn.Module:
    """``module`` with every layer that has a :func:`fast_equivalent` swapped for it, in place."""
    for name, child in module.named_children():
        swap = fast_equivalent(type(child))
        setattr(module, name, swap(child) if swap else _swap_layers(child))
    return module


class ChannelsLastGenerator(nn.Module):
    """A generator whose layers were swapped for their [B, C, 1, T] equivalents: log-mel [B, n_mels, frames]
    -> waveform [B, 1, samples], as the generator it was made from. No autograd. Runs in the dtype of its
    weights (``.to(torch.bfloat16)`` for bf16, an opt-in with its own tolerance) and returns audio in the
    mel's dtype."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        dtype = next(self.generator.buffers()).dtype
        return self.generator(channels_last_2d(mel.to(dtype))).squeeze(2).to(mel.dtype)


def fast_copy(generator: nn.Module, n_mels: int, probe_frames: int = 24) -> ChannelsLastGenerator | None:
    """The fast inference copy of ``generator`` (log-mel [B, n_mels, frames] -> [B, 1, samples]), or None,
    with one log line, where the swap fails or the copy differs from the plain copy by more than
    ``FAST_TOLERANCE`` on a random probe of ``probe_frames`` frames. ``generator`` itself is not changed."""
    copy = inference_copy(generator)
    probe = torch.randn(
        1, n_mels, probe_frames, generator=torch.Generator().manual_seed(0), dtype=torch.float32
    ).to(next(copy.parameters()).device)
    with torch.inference_mode():
        expected = copy(probe)
    try:  # the copy's layers are swapped in place
        fast = ChannelsLastGenerator(_swap_layers(copy))
        got = fast(probe)
        difference = (got - expected).abs().max().item() if got.shape == expected.shape else float("inf")
        reason = f"it differs from the plain generator by {difference:.1e} (> {FAST_TOLERANCE})"
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        difference, reason = float("inf"), f"{type(error).__name__}: {str(error).splitlines()[0]}"
    if difference <= FAST_TOLERANCE:
        return fast
    log.info(
        "fast inference path not used for %s (%s): the plain generator runs", type(generator).__name__, reason
    )
    return None


def fast_inference_copy(generator: nn.Module, n_mels: int, probe_frames: int = 24) -> nn.Module:
    """:func:`fast_copy` of ``generator``, or its plain inference copy where there is none."""
    return fast_copy(generator, n_mels, probe_frames) or inference_copy(generator)
