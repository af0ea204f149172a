"""How fast a network could run here at best: the floating-point operations of its forward against the
throughput this machine reaches on large, well-shaped convolutions and matrix products.

``lower_bound_seconds = forward FLOPs / peak FLOP/s``: no implementation of the same network (the same
convolutions and products; element-wise work and memory traffic not counted) runs faster on this device at
these threads. Set against the official code's measured time it says whether a target ratio is reachable at
all: a bound of 0.8 x the official time means no code reaches 0.67 x.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.timing import round_robin


def forward_flops(module: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of the convolutions and matrix products in ``module(*inputs)``."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        module(*inputs)
    return counter.get_total_flops()


def flops_per_frame(module: torch.nn.Module, n_mels: int, device: torch.device) -> tuple[float, float]:
    """(FLOPs per mel frame, fixed FLOPs) of a vocoder's forward, from two lengths (both are linear in it)."""
    short, long = (forward_flops(module, torch.randn(1, n_mels, n, device=device)) for n in (64, 128))
    per_frame = (long - short) / 64
    return per_frame, short - 64 * per_frame


def _best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls of ``fn`` after one warm-up call."""
    runs = round_robin({"fn": fn}, torch.device("cpu"), repeats)
    return min(seconds for seconds, _ in runs["fn"])


@functools.cache
def peak_flops(threads: int, repeats: int = 5) -> dict[str, float]:
    """FLOP/s of this CPU at ``threads`` (the caller sets them) on a 2048^3 fp32 matrix product and on a
    512 -> 512 channel, kernel 7 convolution over 8192 steps (2-D channels-last, oneDNN's fastest layout
    here), best of ``repeats``; ``peak`` is the higher."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x = torch.randn(1, 512, 1, 8192).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 512, 1, 7).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        matmul = 2 * 2048**3 / _best_seconds(lambda: a @ b, repeats)
        conv = 2 * 512 * 512 * 7 * (8192 - 6) / _best_seconds(lambda: F.conv2d(x, w), repeats)
    return {"matmul": matmul, "conv": conv, "peak": max(matmul, conv), "threads": threads}
