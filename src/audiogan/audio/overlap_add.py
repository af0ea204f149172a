"""Run a waveform-to-waveform network over audio of any length, a chunk at a time, in bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch

Network = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def process_in_chunks(
    network: Network, audio: torch.Tensor, chunk_samples: int, context: int, batch_size: int = 1
) -> torch.Tensor:
    """``network`` ([N, 1, L] -> [N, 1, L]) applied to ``audio`` [T] or [C, T] chunk by chunk; same shape out.

    Each chunk of ``chunk_samples`` is processed inside a window reaching ``context`` samples further on
    both sides, and only the chunk's own samples are kept. Windows stop at the file's edges rather than
    being zero-padded there: a network that zero-pads each layer ("same" convolutions) then pads the file
    edges exactly as in a whole-file pass, whereas zeros fed in as input would pass through biases and
    nonlinearities of the first layers and differ. So for a network whose output at a sample depends on
    inputs at most ``context`` samples away (half a symmetric receptive field; its larger reach when
    asymmetric), the result equals one whole-file pass up to float rounding, while memory grows with
    ``batch_size * (chunk_samples + 2 * context)`` instead of ``T``. The price is recomputing ``2 * context``
    samples per chunk. A windowed crossfade between overlapping chunks would also tolerate networks whose
    reach exceeds the overlap, but is never exact; with the context set from the receptive field the hard
    cut is exact and computes each output sample once.

    Channels are processed independently as mono signals. ``batch_size`` windows of equal length (all but
    the ones touching a file edge) go through the network together, for accelerator throughput.
    """
    for name, value, least in (
        ("chunk_samples", chunk_samples, 1),
        ("context", context, 0),
        ("batch_size", batch_size, 1),
    ):
        if value < least:
            raise ValueError(f"{name} must be >= {least}, got {value}")
    if audio.dim() not in (1, 2):
        raise ValueError(f"audio must be [T] or [C, T], got shape {tuple(audio.shape)}")
    channels = audio.unsqueeze(0) if audio.dim() == 1 else audio
    out = None
    for group in _groups(channels.shape, chunk_samples, context, batch_size):
        batch = torch.stack([channels[job.channel, job.left : job.right] for job in group]).unsqueeze(1)
        result = network(batch)
        if result.shape != batch.shape:
            raise ValueError(
                f"network must keep the shape [N, 1, L]; got {tuple(result.shape)} from {tuple(batch.shape)}"
            )
        out = result.new_empty(channels.shape) if out is None else out
        for row, job in zip(result[:, 0], group, strict=True):
            out[job.channel, job.start : job.end] = row[job.start - job.left : job.end - job.left]
    return audio.clone() if out is None else out.reshape(audio.shape)


def chunk_windows(total: int, chunk: int, context: int) -> Iterator[tuple[int, int, int, int]]:
    """(start, end, left, right) of each consecutive chunk of [0, total): the chunk's own span [start, end)
    and the window [left, right) reaching ``context`` further on both sides, cut at the edges."""
    for start in range(0, total, chunk):
        end = min(start + chunk, total)
        yield start, end, max(0, start - context), min(total, end + context)


class _Chunk(NamedTuple):
    channel: int
    start: int  # the chunk's own samples, kept
    end: int
    left: int  # the window the network sees
    right: int


def _groups(shape: torch.Size, chunk_samples: int, context: int, batch_size: int) -> Iterator[list[_Chunk]]:
    """Consecutive chunks of a [C, T] signal, up to ``batch_size`` a group, the windows of a group of one
    length so that they stack."""
    n_channels, total = shape
    group: list[_Chunk] = []
    for channel in range(n_channels):
        for window in chunk_windows(total, chunk_samples, context):
            job = _Chunk(channel, *window)
            if group and (len(group) == batch_size or job.right - job.left != group[0].right - group[0].left):
                yield group
                group = []
            group.append(job)
    if group:
        yield group
