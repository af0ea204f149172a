"""One LightningDataModule for every family: a corpus and what is done to it as a whole (the data config),
items of the shape the family wants (the model config)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from audiogan.audio.config import AudioConfig
from audiogan.data.corpora.base import Corpus, Utterance
from audiogan.data.sampling import SeededSampler
from audiogan.data.scan import usable_utterances
from audiogan.utils.config import to_dict

log = logging.getLogger(__name__)


class AudioDataModule(L.LightningDataModule):
    """Reads a corpus, drops unusable files (warned and counted), and serves the family's datasets.

    ``root`` is where the corpus lives (``data.root=...``). ``datasets`` maps split -> what one item looks
    like (the model's: crop lengths, clip lengths, ...), completed with ``dataset_defaults`` (the data
    config's corpus-level processing every split shares: noise mixing, recorded pairs, speaker pairing),
    ``utterances`` and ``sample_rate``; ``provides`` names the kinds of data this corpus can feed
    (checked against the model at start).
    Validation uses the first ``val_clips`` held-out utterances, always the same ones.
    """

    def __init__(
        self,
        corpus: Mapping[str, Any],
        root: str,
        datasets: Mapping[str, Any],
        audio: Mapping[str, Any],
        provides: list[str],
        download: bool | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        val_clips: int | None = 4,
        test_clips: int | None = None,
        min_seconds: float = 0.1,
        cache_dir: str | None = None,
        seed: int = 0,
        dataset_defaults: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.corpus_cfg = {**to_dict(corpus), "root": root}
        self.download = download
        self.dataset_cfg = to_dict(datasets)
        self.dataset_defaults = to_dict(dataset_defaults)
        self.audio = AudioConfig.from_config(to_dict(audio))
        self.provides = list(provides)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.clip_limits = {"val": val_clips, "test": test_clips}
        self.min_samples = max(1, int(min_seconds * self.audio.sample_rate))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.seed = seed
        self.datasets: dict[str, Any] = {}
        self.skipped: dict[str, int] = {}
        self._train_sampler: SeededSampler | None = None
        self._resume_at: dict[str, int] | None = None  # from a checkpoint, for the next train loader

    def prepare_data(self) -> None:
        """Runs once per node: synthesises the embedded corpus, or downloads a real one if asked."""
        self.corpus(download=self.download)

    def corpus(self, download: bool | None = None) -> Corpus:
        """The reader; ``download`` is passed only to readers of downloadable corpora (not None)."""
        return instantiate(self.corpus_cfg, **({"download": download} if download is not None else {}))

    def usable(self, split: str) -> list[Utterance]:
        """The split's utterances minus unreadable / empty / silent / too-short files."""
        utterances = self.corpus(download=False if self.download is not None else None).utterances(split)
        limit = self.clip_limits.get(split)
        scan = usable_utterances(
            utterances[: limit * 4] if limit else utterances,  # scan a margin, not the whole split
            self.audio.sample_rate,
            self.min_samples,
            cache_dir=self.cache_dir,
        )
        self.skipped[split] = len(scan.skipped)
        usable = scan.usable[:limit] if limit else scan.usable
        if not usable:
            raise RuntimeError(
                f"no usable utterances in the {split} split of {self.corpus_cfg.get('_target_')}"
            )
        return usable

    def setup(self, stage: str | None = None) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage or "fit", ("train", "val")
        )
        for split in splits:
            if split in self.datasets or split not in self.dataset_cfg:
                continue
            # partial, then called: Hydra would turn the Utterance dataclasses into configs if passed to it
            build = instantiate({**self.dataset_defaults, **self.dataset_cfg[split], "_partial_": True})
            self.datasets[split] = build(utterances=self.usable(split), sample_rate=self.audio.sample_rate)
            log.info("%s split: %d items", split, len(self.datasets[split]))

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> DataLoader:
        dataset = self.datasets["train"]
        rank, world_size = self._rank_and_world()
        sampler = SeededSampler(len(dataset), seed=self.seed, rank=rank, world_size=world_size)
        if self._resume_at is not None:
            sampler.resume_at(self._resume_at["epoch"], self._resume_at["batches"] * self.batch_size)
            self._resume_at = None
        self._train_sampler = sampler
        if len(sampler) < self.batch_size:
            raise ValueError(
                f"train split has {len(dataset)} usable items ({len(sampler)} per rank), fewer than "
                f"batch_size={self.batch_size}; lower model.batch_size or use a larger corpus"
            )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=False,
        )

    def state_dict(self) -> dict[str, Any]:
        """Saved in checkpoints: where the train loader reads on (the pass, how many of its batches were
        trained), so a resumed run reads the next batch (Lightning restarts loaders at their start)."""
        if self._train_sampler is None or self.trainer is None:
            return {}
        epoch = self._train_sampler.epoch
        trained = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if trained >= self.trainer.num_training_batches:  # the pass is over (limit_train_batches may end it)
            epoch, trained = epoch + 1, 0
        return {"train_pass": {"epoch": epoch, "batches": trained}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_at = state_dict.get("train_pass")

    def _clip_loader(self, split: str) -> DataLoader:
        return DataLoader(self.datasets[split], batch_size=1, shuffle=False, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        return self._clip_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._clip_loader("test")
