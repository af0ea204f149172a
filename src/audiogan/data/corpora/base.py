"""What every corpus reader returns: utterances with speaker and text, split deterministically."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")


class CorpusNotFoundError(FileNotFoundError):
    """A corpus root that is missing or not laid out as expected; the message says what was expected."""


class SplitUnavailableError(CorpusNotFoundError):
    """A split that cannot be served (its subset is not on disk, or it holds no usable audio); the message
    names the split and how to provide it."""


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


def split_hash(key: str, seed: int = 0) -> float:
    """A stable pseudo-random number in [0, 1) for ``key``: the same on every run and machine."""
    digest = hashlib.sha1(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(key: str, val_fraction: float, test_fraction: float, seed: int = 0) -> str:
    """Assign ``key`` to train/val/test by a stable hash, so splits never change between runs or machines."""
    u = split_hash(key, seed)
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
        """The split's utterances; :class:`SplitUnavailableError` for a split the reader cannot list."""
        raise NotImplementedError

    @staticmethod
    def check_split(split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")


class HashSplitCorpus(Corpus):
    """A corpus without official splits: utterances go to splits by :func:`split_of` of their
    :meth:`split_key`, so utterances sharing a key (VCTK: one sentence number) share a split.

    Hashing alone can leave a small corpus' val or test split empty; :meth:`hold_out` then moves training
    keys there. Corpora big enough that hashing fills both keep exactly the :func:`split_of` split.
    Subclasses call ``super().__init__`` with every utterance once they can compute :meth:`split_key`.
    """

    def __init__(
        self, utterances: Sequence[Utterance], val_fraction: float, test_fraction: float, seed: int
    ) -> None:
        if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
            raise ValueError(
                f"{self.name}: val_fraction and test_fraction must be >= 0 and sum to < 1, "
                f"got val_fraction={val_fraction} test_fraction={test_fraction}"
            )
        self.val_fraction, self.test_fraction, self.seed = val_fraction, test_fraction, seed
        self._all = sorted(utterances, key=lambda u: u.utt_id)
        self._groups: dict[str, list[Utterance]] = {}
        for utterance in self._all:
            self._groups.setdefault(self.split_key(utterance), []).append(utterance)
        self._split = {key: split_of(key, val_fraction, test_fraction, seed) for key in self._groups}
        self.hold_out()

    def split_key(self, utterance: Utterance) -> str:
        """What is hashed to pick the split; utterances with equal keys never straddle splits."""
        return utterance.utt_id

    def utterances(self, split: str) -> list[Utterance]:
        """The split's utterances, sorted by ``utt_id``."""
        self.check_split(split)
        return [u for u in self._all if self._split[self.split_key(u)] == split]

    def hold_out(self, usable: Callable[[list[Utterance]], bool] = bool) -> dict[str, str]:
        """Make val, then test, hold utterances that ``usable`` accepts, when their fraction is above 0.

        ``usable(utterances)`` says whether any of them can be used (default: any at all, so no audio is
        read). A split that fails gets the first training key, in hash order, whose utterances pass; the
        last training key is never taken. Same files and seed, same keys moved. Returns {key moved: split}.
        """
        moved = {}
        for split, fraction in (("val", self.val_fraction), ("test", self.test_fraction)):
            if fraction <= 0 or usable(self.utterances(split)):
                continue
            train = sorted((k for k, s in self._split.items() if s == "train"), key=self._hash)
            key = next((k for k in train if usable(self._groups[k])), None) if len(train) > 1 else None
            if key is not None:
                self._split[key] = split
                moved[key] = split
        return moved

    def _hash(self, key: str) -> float:
        return split_hash(key, self.seed)
