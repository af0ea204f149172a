"""Chunked processing equals one whole-file pass for a network whose reach lies within the context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiogan.audio.overlap_add import process_in_chunks

DILATIONS = (1, 2, 4, 8)
REACH = sum(DILATIONS)  # kernel 3: each layer looks `dilation` samples either way
CHUNK = 64


def conv_stack() -> nn.Module:
    """Non-causal dilated convs with biases and tanh, zero 'same' padding at every layer."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for i, d in enumerate(DILATIONS):
        layers += [nn.Conv1d(1 if i == 0 else 4, 4, 3, dilation=d, padding=d), nn.Tanh()]
    layers.append(nn.Conv1d(4, 1, 1))
    return nn.Sequential(*layers).eval()


@pytest.fixture(scope="module")
def net() -> nn.Module:
    return conv_stack()


def whole(net: nn.Module, audio: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(audio.reshape(-1, 1, audio.shape[-1])).reshape(audio.shape)


@pytest.mark.parametrize("length", [1, 50, 4 * CHUNK, 331, CHUNK + 1])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_chunked_equals_whole_file(net, length, batch_size):
    audio = torch.randn(length, generator=torch.Generator().manual_seed(length))
    chunked = process_in_chunks(net, audio, CHUNK, REACH, batch_size=batch_size)
    assert chunked.shape == audio.shape
    torch.testing.assert_close(chunked, whole(net, audio), atol=1e-5, rtol=0)


def test_context_wider_than_the_chunk_is_still_exact(net):
    audio = torch.randn(200, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        process_in_chunks(net, audio, 8, 3 * REACH), whole(net, audio), atol=1e-5, rtol=0
    )


def test_too_little_context_shows_at_the_chunk_seams(net):
    audio = torch.randn(331, generator=torch.Generator().manual_seed(2))
    error = (process_in_chunks(net, audio, CHUNK, REACH // 2) - whole(net, audio)).abs()
    assert error.max() > 1e-3
    assert error[: CHUNK - REACH].max() < 1e-5  # far from any seam the chunk still sees everything


def test_channels_are_processed_independently(net):
    audio = torch.randn(2, 331, generator=torch.Generator().manual_seed(3))
    chunked = process_in_chunks(net, audio, CHUNK, REACH, batch_size=4)
    assert chunked.shape == (2, 331)
    for channel in range(2):
        torch.testing.assert_close(chunked[channel], whole(net, audio[channel]), atol=1e-5, rtol=0)


def test_memory_stays_bounded_by_the_window(net):
    seen = []
    process_in_chunks(lambda x: seen.append(x.shape) or net(x), torch.randn(1000), CHUNK, REACH, batch_size=2)
    assert max(n * length for n, _, length in seen) <= 2 * (CHUNK + 2 * REACH)
    assert sum(n for n, _, _ in seen) == -(-1000 // CHUNK)


def test_empty_audio_comes_back_empty(net):
    assert process_in_chunks(net, torch.zeros(0), CHUNK, REACH).shape == (0,)


@pytest.mark.parametrize(
    "arguments, name",
    [((0, REACH), "chunk_samples"), ((CHUNK, -1), "context"), ((CHUNK, REACH, 0), "batch_size")],
)
def test_bad_arguments_are_named(net, arguments, name):
    with pytest.raises(ValueError, match=name):
        process_in_chunks(net, torch.randn(100), *arguments)


def test_bad_shapes_are_refused(net):
    with pytest.raises(ValueError, match=r"\[T\] or \[C, T\]"):
        process_in_chunks(net, torch.randn(1, 1, 100), CHUNK, REACH)
    with pytest.raises(ValueError, match="keep the shape"):
        process_in_chunks(lambda x: x[..., :-1], torch.randn(100), CHUNK, REACH)
