"""Epoch-seeded shuffling that also hands each item its own random seed.

Data order and every random crop/gain depend only on (seed, epoch, position), never on the global
RNG, so a run resumed from a checkpoint sees exactly the batches an uninterrupted run would (mid-epoch
too: the datamodule tells the sampler where the checkpoint's pass stood, :meth:`SeededSampler.resume_at`),
and each DDP rank reads a disjoint, equally long share of the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class SeededSampler(Sampler[tuple[int, int]]):
    """Yields ``(dataset_index, item_seed)``; the dataset uses the seed for its random choices."""

    def __init__(
        self, num_items: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ):
        if num_items < 1:
            raise ValueError("SeededSampler needs at least one item")
        self.num_items = num_items
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._skip = 0  # items of this rank's share the next pass leaves out (a resumed pass)
        self.per_rank = -(-num_items // world_size)  # ceil: every rank gets as many items

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this at the start of each epoch."""
        self.epoch = epoch

    def resume_at(self, epoch: int, items: int) -> None:
        """The next pass is over ``epoch`` and starts after this rank's first ``items`` items (those an
        interrupted run had trained on); later passes are whole. The length stays that of a whole pass."""
        self.epoch = epoch
        self._skip = items

    def __len__(self) -> int:
        return self.per_rank

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = (
            torch.randperm(self.num_items, generator=generator)
            if self.shuffle
            else torch.arange(self.num_items)
        )
        padded = order.repeat(-(-self.per_rank * self.world_size // self.num_items))[
            : self.per_rank * self.world_size
        ]
        item_seeds = torch.randint(0, 2**31 - 1, (len(padded),), generator=generator)
        start, self._skip = self.rank + self._skip * self.world_size, 0
        for position in range(start, len(padded), self.world_size):
            yield int(padded[position]), int(item_seeds[position])
