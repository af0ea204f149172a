"""Run a waveform-to-waveform network over audio of any length, a chunk at a time, in bounded memory."""

from __future__ import annotations

from collections.abc import Callable

import torch

Network = Callable[[torch.Tensor], torch.Tensor]


def process_in_chunks(
    network: Network, audio: torch.Tensor, chunk_samples: int, context: int
) -> torch.Tensor:
    """``network`` ([1, 1, L] -> [1, 1, L]) applied to ``audio`` [T] chunk by chunk, returned as [T].

    Each chunk of ``chunk_samples`` is processed together with up to ``context`` real samples on both
    sides, and only its own samples are kept. For a network whose receptive field reaches at most
    ``context`` samples either way, every kept sample sees exactly the input a whole-file pass gives it;
    at the file's edges the chunk simply starts or ends there, so the network pads as it would for the
    whole file. The result then equals one whole pass up to float rounding, while memory grows with
    ``chunk_samples + 2 * context`` instead of ``T``. (A window crossfade would be needed only for
    networks whose receptive field exceeds the context; here it is set from the receptive field.)
    """
    if chunk_samples < 1:
        raise ValueError(f"chunk_samples must be >= 1, got {chunk_samples}")
    if context < 0:
        raise ValueError(f"context must be >= 0, got {context}")
    if audio.dim() != 1:
        raise ValueError(f"expected mono audio [T], got shape {tuple(audio.shape)}")
    total = audio.numel()
    pieces = []
    for start in range(0, total, chunk_samples):
        end = min(start + chunk_samples, total)
        left, right = max(0, start - context), min(total, end + context)
        out = network(audio[left:right].view(1, 1, -1)).reshape(-1)
        pieces.append(out[start - left : end - left])
    return torch.cat(pieces) if pieces else audio.clone()
