"""Running dB statistics that normalise the voice-conversion mels.

The generator works on mels with about zero mean and unit variance, but a dB mel sits near -30 dB with a
spread of about 20 dB, and each speaker somewhere else. The statistics start at those defaults and
follow the training data as a moving average; as buffers they are saved with the checkpoint, so inference
denormalises with the numbers the model was trained with.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def _batch_statistics(mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, unbiased std, min and max over every element of ``mel`` (float64), as one tensor of all
    processes' batches would give them, so every DDP rank keeps identical statistics."""
    x = mel.detach().double()
    count = torch.tensor(x.numel(), dtype=x.dtype, device=x.device)
    moments = torch.stack([count, x.sum(), x.square().sum()])
    low, high = x.min(), x.max()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(moments)
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
    count, total, squares = moments
    mean = total / count
    std = ((squares - count * mean.square()).clamp_min(0) / (count - 1)).sqrt()
    return mean, std, low, high


class MelStats(nn.Module):
    """One speaker's dB-mel statistics: ``mean``, ``std``, ``min``, ``max`` (float32 scalar buffers).

    ``update_from_batch``: mean and std move as exponential moving averages,
    ``new = (1 - alpha) * old + alpha * batch`` with the batch's mean and unbiased std over all its values;
    min and max are running extremes, ``new = min(old, batch min)`` and ``max(old, batch max)``.
    """

    def __init__(self, mean: float, std: float, min: float, max: float, alpha: float):
        super().__init__()
        self.alpha = alpha
        for name, value in (("mean", mean), ("std", std), ("min", min), ("max", max)):
            self.register_buffer(name, torch.tensor(float(value)))

    @torch.no_grad()
    def update_from_batch(self, mel: torch.Tensor) -> None:
        mean, std, low, high = _batch_statistics(mel)
        self.mean.lerp_(mean.to(self.mean), self.alpha)
        self.std.lerp_(std.to(self.std), self.alpha)
        self.min.copy_(torch.minimum(self.min, low.to(self.min)))
        self.max.copy_(torch.maximum(self.max, high.to(self.max)))

    def normalize(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mean) / self.std

    def denormalize(self, normalized: torch.Tensor, clip: bool = False) -> torch.Tensor:
        """Back to dB; ``clip`` limits the result to the range [min, max] seen in the data, so a generated
        mel never asks the vocoder for more than the loudest or less than the quietest real frame."""
        mel = normalized * self.std + self.mean
        return mel.clamp(self.min, self.max) if clip else mel


class GlobalStats(nn.Module):
    """Source- and target-speaker statistics, and the blend that denormalises converted mels.

    Training normalises the source mel with ``source`` statistics (the generator's input) and the target
    mel with ``target`` statistics (what the generator must produce), each updated from its own side of
    every training batch. A converted mel is therefore in the target's normalised space, and
    ``denormalize_converted`` maps it back with ``blend * target + (1 - blend) * source`` of the mean and
    std: ``blend = 1`` (default) is the target speaker's own statistics, the consistent inverse of
    training. A partial blend such as 0.7 (70 % target) keeps some of the source's level and spread.
    """

    def __init__(
        self,
        mean: float = -30.0,
        std: float = 20.0,
        min: float = -80.0,
        max: float = 0.0,
        alpha: float = 0.05,
        blend: float = 1.0,
    ):
        super().__init__()
        if not 0.0 <= blend <= 1.0:
            raise ValueError(f"GlobalStats blend must be in [0, 1], got {blend}")
        self.source = MelStats(mean, std, min, max, alpha)
        self.target = MelStats(mean, std, min, max, alpha)
        self.blend = blend

    def update_from_batch(self, source_mel: torch.Tensor, target_mel: torch.Tensor) -> None:
        self.source.update_from_batch(source_mel)
        self.target.update_from_batch(target_mel)

    def conversion_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The blended (mean, std) that ``denormalize_converted`` uses."""
        mean = torch.lerp(self.source.mean, self.target.mean, self.blend)
        std = torch.lerp(self.source.std, self.target.std, self.blend)
        return mean, std

    def denormalize_converted(self, normalized: torch.Tensor, clip: bool = False) -> torch.Tensor:
        """A generator output back to dB; ``clip`` limits it to the target speaker's [min, max]."""
        mean, std = self.conversion_stats()
        mel = normalized * std + mean
        return mel.clamp(self.target.min, self.target.max) if clip else mel
