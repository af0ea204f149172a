"""What every corpus reader returns: utterances with speaker and text, split deterministically."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")


class CorpusNotFoundError(FileNotFoundError):
    """A corpus root that is missing or not laid out as expected; the message says what was expected."""


@dataclass(frozen=True)
class Utterance:
    """One recording. ``utt_id`` is unique within a corpus; ``text`` is the transcript.

    ``twin`` is the same recording under another condition, sample-aligned (the noisy version in a
    speech-enhancement corpus); ``None`` for ordinary corpora.
    """

    path: Path
    speaker: str
    text: str
    utt_id: str
    twin: Path | None = None


def split_of(key: str, val_fraction: float, test_fraction: float, seed: int = 0) -> str:
    """Assign ``key`` to train/val/test by a stable hash, so splits never change between runs or machines."""
    digest = hashlib.sha1(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def require_dir(path: Path, corpus: str, expected_layout: str) -> Path:
    """Fail at once, naming the path and the layout the reader expects there."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise CorpusNotFoundError(
            f"{corpus}: corpus root {path} does not exist or is not a directory; expected layout: "
            f"{expected_layout} (set data.root=... or data.download=true)"
        )
    return path


class Corpus:
    """A corpus on disk: lists its utterances per split. Readers never decode audio while listing."""

    name: str = "corpus"

    def utterances(self, split: str) -> list[Utterance]:
        raise NotImplementedError

    @staticmethod
    def check_split(split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
