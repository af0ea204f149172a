"""LJSpeech 1.1: one speaker, 13,100 clips, transcripts in a pipe-separated ``metadata.csv``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import torchaudio

from audiogan.data.corpora.base import CorpusNotFoundError, HashSplitCorpus, Utterance, require_dir

LAYOUT = "LJSpeech-1.1/metadata.csv (lines 'id|raw text|normalized text') + LJSpeech-1.1/wavs/<id>.wav"


class LJSpeech(HashSplitCorpus):
    """Reader of the ``LJSpeech-1.1`` directory; splits are drawn by hashing the clip id, at least one
    clip each for val and test (when their fraction is above 0) however small the corpus."""

    name = "ljspeech"
    speaker = "LJ"

    def __init__(
        self,
        root: str | os.PathLike,
        val_fraction: float = 0.02,
        test_fraction: float = 0.02,
        seed: int = 0,
        download: bool = False,
    ) -> None:
        root = Path(root).expanduser()
        if download and not (root / "metadata.csv").is_file():
            _download(root)
        self.root = require_dir(root, "LJSpeech", LAYOUT)
        super().__init__(self._read_metadata(), val_fraction, test_fraction, seed)

    def _read_metadata(self) -> list[Utterance]:
        metadata = self.root / "metadata.csv"
        if not metadata.is_file():
            raise CorpusNotFoundError(f"LJSpeech: {metadata} not found; expected layout: {LAYOUT}")
        utterances = []
        # The transcripts contain bare quote characters, so csv quoting must be off.
        with open(metadata, encoding="utf-8", newline="") as f:
            for line_no, row in enumerate(csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE), start=1):
                if len(row) != 3:
                    raise ValueError(f"{metadata}:{line_no}: expected 'id|raw text|normalized text': {row}")
                utt_id, _, text = row
                utterances.append(Utterance(self.root / "wavs" / f"{utt_id}.wav", self.speaker, text, utt_id))
        return utterances


def _download(root: Path) -> None:
    """torchaudio extracts the archive to ``<parent>/LJSpeech-1.1``, so ``root`` must carry that name."""
    if root.name != "LJSpeech-1.1":
        raise ValueError(f"LJSpeech: download needs a root named 'LJSpeech-1.1' (got {root})")
    root.parent.mkdir(parents=True, exist_ok=True)
    torchaudio.datasets.LJSPEECH(root.parent, download=True)
