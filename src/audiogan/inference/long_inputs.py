"""Vocoding inputs of any length in bounded memory: the log-mel cut into chunks, each generated with enough
mel context on both sides that the audio equals one pass over the whole input."""

from __future__ import annotations

import torch
from torch import nn

from audiogan.audio.overlap_add import chunk_windows


class ChunkedVocoder(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, 1, samples] through ``generator``, ``chunk_frames`` frames
    at a time: the audio of one pass (``frames * hop_length`` samples; a hop less from a centred inverse STFT,
    which ends at the last frame's centre).

    Each chunk is generated from a window reaching ``context_frames`` further on both sides (cut at the
    input's edges, never zero-padded, so the edges are padded as in one pass), and only the chunk's own
    ``chunk_frames * hop_length`` samples are kept. When ``context_frames`` covers the generator's reach (how
    many frames away an input frame still changes an output sample), the result equals one pass over the
    whole input up to float rounding, while memory grows with ``chunk_frames + 2 * context_frames`` instead
    of the input's length. The price: ``2 * context_frames`` frames recomputed per chunk. Inputs no longer
    than one window go through in one pass.
    """

    def __init__(self, generator: nn.Module, hop_length: int, chunk_frames: int, context_frames: int):
        super().__init__()
        if chunk_frames < 1 or context_frames < 0:
            raise ValueError(
                f"chunk_frames must be >= 1 and context_frames >= 0, got {chunk_frames}, {context_frames}"
            )
        self.generator = generator
        self.hop_length = hop_length
        self.chunk_frames = chunk_frames
        self.context_frames = context_frames

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        frames, context = mel.shape[-1], self.context_frames
        if frames <= self.chunk_frames + 2 * context:
            return self.generator(mel)
        pieces = []
        for start, end, left, right in chunk_windows(frames, self.chunk_frames, context):
            audio = self.generator(mel[..., left:right])
            offset = (start - left) * self.hop_length
            pieces.append(audio[..., offset : offset + (end - start) * self.hop_length])
        return torch.cat(pieces, dim=-1)
