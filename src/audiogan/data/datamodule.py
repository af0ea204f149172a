"""One LightningDataModule for every family: a corpus and what is done to it as a whole (the data config),
items of the shape the family wants (the model config)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from audiogan.audio.config import AudioConfig
from audiogan.data.corpora.base import Corpus, HashSplitCorpus, SplitUnavailableError, Utterance
from audiogan.data.sampling import SeededSampler
from audiogan.data.scan import ScanResult, any_usable, usable_utterances
from audiogan.utils.config import to_dict

log = logging.getLogger(__name__)

# who needs each split, for the message when it is empty
NEEDED_BY = {"train": "training", "val": "training", "test": "eval.py"}


class AudioDataModule(L.LightningDataModule):
    """Reads a corpus, drops unusable files (warned and counted), and serves the family's datasets.

    ``root`` is where the corpus lives (``data.root=...``). ``datasets`` maps split -> what one item looks
    like (the model's: crop lengths, clip lengths, ...), completed with ``dataset_defaults`` (the data
    config's corpus-level processing every split shares: noise mixing, recorded pairs, speaker pairing),
    ``utterances`` and ``sample_rate``; ``provides`` names the kinds of data this corpus can feed
    (checked against the model at start).
    Validation uses the first ``val_clips`` held-out utterances, always the same ones.

    Training needs train and val only: without a test split ``fit`` warns once that ``eval.py`` will need
    one, and ``test`` stops with :class:`SplitUnavailableError` naming it. A corpus split by hashing
    (:class:`HashSplitCorpus`) always gets a usable validation clip: when its val (or test) utterances are all
    unusable, the next usable training key in hash order is held out instead, the same on every run.
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
        speakers: list[str] | None = None,
    ):
        super().__init__()
        self.corpus_cfg = {**to_dict(corpus), "root": root}
        self.download = download
        self.dataset_cfg = to_dict(datasets)
        self.dataset_defaults = to_dict(dataset_defaults)
        self.audio_config = AudioConfig.from_config(to_dict(audio))
        self.provides = list(provides)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.clip_limits = {"val": val_clips, "test": test_clips}
        self.min_samples = max(1, int(min_seconds * self.audio_config.sample_rate))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.seed = seed
        self.speakers = list(speakers) if speakers else None
        self.datasets: dict[str, Any] = {}
        self.skipped: dict[str, int] = {}
        self._reader: Corpus | None = None
        self._train_sampler: SeededSampler | None = None
        self._resume_at: dict[str, int] | None = None  # from a checkpoint, for the next train loader

    def prepare_data(self) -> None:
        """Runs once per node: synthesises the embedded corpus, or downloads a real one if asked."""
        self._reader = self._holding_out_usable(self.corpus(download=self.download))

    def corpus(self, download: bool | None = None) -> Corpus:
        """The reader; ``download`` is passed only to readers of downloadable corpora (not None)."""
        return instantiate(self.corpus_cfg, **({"download": download} if download is not None else {}))

    def reader(self) -> Corpus:
        """The corpus, listed once per data module (kept from :meth:`prepare_data` where it ran)."""
        if self._reader is None:
            corpus = self.corpus(download=False if self.download is not None else None)
            self._reader = self._holding_out_usable(corpus)
        return self._reader

    def _holding_out_usable(self, corpus: Corpus) -> Corpus:
        """``corpus``, whose val and test hold usable audio if it is split by hashing."""
        if isinstance(corpus, HashSplitCorpus):
            for key, split in corpus.hold_out(self._any_usable).items():
                log.info(
                    "%s: no usable %s clip where hashing put it; holding out %r", corpus.name, split, key
                )
        return corpus

    def _any_usable(self, utterances: list[Utterance]) -> bool:
        return any_usable(
            utterances, self.audio_config.sample_rate, self.min_samples, cache_dir=self.cache_dir
        )

    def _scan(self, utterances: list[Utterance]) -> ScanResult:
        return usable_utterances(
            utterances, self.audio_config.sample_rate, self.min_samples, cache_dir=self.cache_dir
        )

    def _listed(self, split: str) -> list[Utterance]:
        """The split's utterances; :class:`SplitUnavailableError` when it has none or misses its subset."""
        utterances = self.reader().utterances(split)
        if self.speakers is not None:
            found = sorted({u.speaker for u in utterances})
            utterances = [u for u in utterances if u.speaker in self.speakers]
            if not utterances:
                raise SplitUnavailableError(
                    f"data.speakers={self.speakers}: none of them in the {split} split; its speakers: {found}"
                )
        if not utterances:
            raise SplitUnavailableError(
                f"no {split} utterances in {self.corpus_cfg.get('_target_')} at {self.corpus_cfg['root']}: "
                f"{NEEDED_BY[split]} needs a {split} split; set its subsets or fraction under data.corpus"
            )
        return utterances

    def usable(self, split: str) -> list[Utterance]:
        """The split's utterances minus unreadable / empty / silent / too-short files (the first
        ``val_clips`` / ``test_clips`` of them, looking past a margin only when it holds none)."""
        utterances = self._listed(split)
        limit = self.clip_limits.get(split)
        scan = self._scan(utterances[: limit * 4] if limit else utterances)
        if limit and not scan.usable and len(utterances) > limit * 4:
            rest = self._scan(utterances[limit * 4 :])
            scan = ScanResult(rest.usable, scan.skipped + rest.skipped)
        self.skipped[split] = len(scan.skipped)
        usable = scan.usable[:limit] if limit else scan.usable
        if not usable:
            raise SplitUnavailableError(
                f"no usable utterances in the {split} split of {self.corpus_cfg.get('_target_')} at "
                f"{self.corpus_cfg['root']}: all {len(scan.skipped)} were skipped (see the warnings above)"
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
            self.datasets[split] = build(
                utterances=self.usable(split), sample_rate=self.audio_config.sample_rate
            )
            log.info("%s split: %d items", split, len(self.datasets[split]))
        if "train" in splits and "test" in self.dataset_cfg and (problem := self.missing_test()):
            log.warning("%s (training goes on without it)", problem)

    def missing_test(self) -> str:
        """Why ``test`` would stop (no test split, or its subset not on disk); ``""`` when it would not."""
        try:
            self._listed("test")
        except SplitUnavailableError as err:
            return str(err)
        return ""

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
            generator=self._loader_generator(),
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
        return DataLoader(
            self.datasets[split],
            batch_size=1,
            shuffle=False,
            num_workers=0,
            generator=self._loader_generator(),
        )

    def _loader_generator(self) -> torch.Generator:
        """A loader's own generator for its workers' base seed, so that starting an epoch or a validation
        draws nothing from the global one: a resumed run then draws what the uninterrupted one drew (items
        are seeded by the sampler, not by the workers)."""
        return torch.Generator().manual_seed(self.seed)

    def val_dataloader(self) -> DataLoader:
        return self._clip_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._clip_loader("test")
