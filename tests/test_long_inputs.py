"""Long inputs: a vocoder's inference generator works through a long log-mel in chunks whose context covers
the generator's reach, so the audio equals one pass over the whole input."""

from __future__ import annotations

import pytest
import torch
from conftest import compose, smoke, vocoder_families
from hydra.utils import instantiate
from torch import nn

from audiogan.commands.train import build_task
from audiogan.inference.long_inputs import ChunkedVocoder

HOP = 4


def toy_generator() -> nn.Module:
    """Log-mel [B, 8, frames] -> [B, 1, frames * 4]; an output sample depends on the input frames at most 3
    away (the k5 conv: 2, the transposed conv: 1)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(8, 6, 5, padding=2),
        nn.Tanh(),
        nn.ConvTranspose1d(6, 1, 2 * HOP, stride=HOP, padding=HOP // 2),
    ).eval()


@pytest.mark.parametrize("frames", [1, 7, 12, 13, 40, 41])
def test_chunks_with_enough_context_give_one_passs_audio(frames):
    generator = toy_generator()
    mel = torch.randn(2, 8, frames)
    with torch.no_grad():
        whole = generator(mel)
        chunked = ChunkedVocoder(generator, HOP, chunk_frames=4, context_frames=3)(mel)
    assert chunked.shape == whole.shape == (2, 1, frames * HOP)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)


def test_chunks_without_enough_context_differ_at_their_seams():
    generator = toy_generator()
    mel = torch.randn(1, 8, 40)
    with torch.no_grad():
        difference = (ChunkedVocoder(generator, HOP, 4, context_frames=1)(mel) - generator(mel)).abs()
    assert difference.max() > 1e-3


def test_chunk_and_context_sizes_are_checked():
    with pytest.raises(ValueError, match="chunk_frames must be >= 1"):
        ChunkedVocoder(toy_generator(), HOP, chunk_frames=0, context_frames=2)


@pytest.mark.slow  # a task per family
@pytest.mark.parametrize("family", vocoder_families())
def test_a_familys_inference_generator_vocodes_long_inputs_in_chunks_equal_to_one_pass(compose_cfg, family):
    cfg = compose_cfg(*smoke(family))
    cfg.model.task.long_inputs.chunk_seconds = 5 * cfg.audio.hop_length / cfg.audio.sample_rate
    chunked = build_task(cfg).eval().inference_generator()
    assert isinstance(chunked, ChunkedVocoder) and chunked.chunk_frames == 5  # a short mel in several chunks
    mel = torch.randn(1, cfg.audio.n_mels, 3 * (chunked.chunk_frames + 2 * chunked.context_frames))
    with torch.no_grad():
        whole = chunked.generator(mel)
        torch.testing.assert_close(chunked(mel), whole, rtol=0, atol=1e-4)


FULL_SIZE = [("model=melgan",), ("model=hifigan", "model.variant=v1"), ("model=hifigan", "model.variant=v3")]
FULL_SIZE += [("model=vocos",)]


@pytest.mark.slow  # full-size generators (BigVGAN's, about 10 s each here, were measured as its config says)
@pytest.mark.parametrize("overrides", FULL_SIZE, ids=[" ".join(o) for o in FULL_SIZE])
def test_the_configured_context_covers_the_full_size_generators_reach(overrides):
    """No input frame further than ``context_frames`` from an output sample changes it (zero gradient)."""
    cfg = compose(*overrides)
    context, hop = cfg.model.task.long_inputs.context_frames, cfg.audio.hop_length
    torch.manual_seed(0)
    generator = instantiate(cfg.model.task.generator)
    mel = torch.randn(1, cfg.audio.n_mels, 2 * context + 3, requires_grad=True)
    centre = context + 1
    generator(mel)[..., centre * hop : (centre + 1) * hop].sum().backward()
    reached = mel.grad[0].abs().sum(0) > 0
    assert reached[centre] and not reached[0] and not reached[-1], reached.nonzero().flatten().tolist()
