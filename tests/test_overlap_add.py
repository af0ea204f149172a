"""Chunked processing with context equals one whole pass for a network whose reach is within the context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiogan.audio.overlap_add import process_in_chunks


def dilated_stack() -> nn.Module:
    """Non-causal convs with biases, zero "same" padding: reach (1 + 2 + 4 + 8) = 15 samples each way."""
    torch.manual_seed(0)
    layers = []
    for dilation in (1, 2, 4, 8):
        layers += [nn.Conv1d(1 if not layers else 4, 4, 3, padding=dilation, dilation=dilation), nn.Tanh()]
    return nn.Sequential(*layers, nn.Conv1d(4, 1, 1)).eval()


@pytest.mark.parametrize("length", [50, 400, 401, 1_237])
def test_chunked_equals_whole(length):
    network, audio = dilated_stack(), torch.randn(length)
    with torch.no_grad():
        whole = network(audio.view(1, 1, -1)).reshape(-1)
        chunked = process_in_chunks(network, audio, chunk_samples=100, context=15)
    assert chunked.shape == audio.shape
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=0)


def test_too_little_context_shows_at_the_chunk_borders():
    network, audio = dilated_stack(), torch.randn(400)
    with torch.no_grad():
        whole = network(audio.view(1, 1, -1)).reshape(-1)
        chunked = process_in_chunks(network, audio, chunk_samples=100, context=5)
    assert (chunked - whole).abs().max() > 1e-3


@pytest.mark.parametrize(("chunk", "context", "name"), [(0, 4, "chunk_samples"), (10, -1, "context")])
def test_bad_arguments_are_named(chunk, context, name):
    with pytest.raises(ValueError, match=name):
        process_in_chunks(nn.Identity(), torch.zeros(10), chunk, context)
