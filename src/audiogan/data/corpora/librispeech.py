"""LibriSpeech: read audiobooks split into official subsets, which define our train/val/test splits."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torchaudio

from audiogan.data.corpora.base import (
    SPLITS,
    Corpus,
    CorpusNotFoundError,
    SplitUnavailableError,
    Utterance,
    require_dir,
)

log = logging.getLogger(__name__)

LAYOUT = (
    "LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac "
    "+ LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt (lines 'UTTID TEXT')"
)
DEFAULT_SUBSETS = {"train": ["train-clean-100"], "val": ["dev-clean"], "test": ["test-clean"]}


class LibriSpeech(Corpus):
    """Reader of ``LibriSpeech/<subset>/...``; ``root`` is the ``LibriSpeech`` dir or the dir holding it.

    Splits are whole official subsets (``subsets[split]``; a split left out is empty), so no speaker or
    chapter leaks between them: a subset in train and in val or test is refused. A subset shared by val
    and test is allowed with a warning (test then scores the clips that picked the best checkpoint).
    Train and val subsets must be on disk; a missing test subset only stops ``utterances("test")``, so
    training needs no test download.
    """

    name = "librispeech"

    def __init__(
        self,
        root: str | os.PathLike,
        subsets: Mapping[str, Sequence[str]] | None = None,
        download: bool = False,
    ) -> None:
        root = Path(root).expanduser()
        self.subsets = {split: list(names) for split, names in (subsets or DEFAULT_SUBSETS).items()}
        unknown = set(self.subsets) - set(SPLITS)
        if unknown:
            raise ValueError(f"LibriSpeech: unknown splits {sorted(unknown)} in subsets; expected {SPLITS}")
        self._check_overlaps()
        # torchaudio's archives unpack to ``<dir>/LibriSpeech/<subset>``.
        is_corpus_dir = root.name == "LibriSpeech" and not (root / "LibriSpeech").is_dir()
        self.corpus_dir = root if is_corpus_dir else root / "LibriSpeech"
        if download:
            self.corpus_dir.parent.mkdir(parents=True, exist_ok=True)
            for subset in self._all_subsets():
                if not (self.corpus_dir / subset).is_dir():
                    torchaudio.datasets.LIBRISPEECH(self.corpus_dir.parent, url=subset, download=True)
        require_dir(self.corpus_dir, "LibriSpeech", LAYOUT)
        for split in ("train", "val"):
            for subset in self.subsets.get(split, []):
                if not (self.corpus_dir / subset).is_dir():
                    raise CorpusNotFoundError(
                        f"LibriSpeech: {split} subset {subset!r} not found at {self.corpus_dir / subset}; "
                        f"expected layout: {LAYOUT} (set data.download=true or change the subsets)"
                    )

    def _all_subsets(self) -> list[str]:
        return sorted({subset for names in self.subsets.values() for subset in names})

    def _check_overlaps(self) -> None:
        """Refuse a subset listed twice in one split or shared by train and a held-out split; warn when val
        and test share one."""
        for split, names in self.subsets.items():
            if len(set(names)) < len(names):
                raise ValueError(f"LibriSpeech: subsets.{split} lists a subset twice: {names}")
        train = set(self.subsets.get("train", []))
        for split in ("val", "test"):
            leaked = sorted(train & set(self.subsets.get(split, [])))
            if leaked:
                raise ValueError(
                    f"LibriSpeech: {leaked} in both subsets.train and subsets.{split} would make the splits "
                    f"overlap; hold out other subsets (e.g. dev-other, test-clean)"
                )
        shared = sorted(set(self.subsets.get("val", [])) & set(self.subsets.get("test", [])))
        if shared:
            log.warning(
                "LibriSpeech: %s in both subsets.val and subsets.test: test metrics then score the clips "
                "that picked the best checkpoint and read optimistic; test-clean (or test-other) is unseen",
                shared,
            )

    def utterances(self, split: str) -> list[Utterance]:
        """Walks the split's subsets on every call: listing train-960 is slow, so only list what is asked.

        Raises :class:`SplitUnavailableError` naming a test subset that is not on disk.
        """
        self.check_split(split)
        for subset in self.subsets.get(split, []):
            if not (self.corpus_dir / subset).is_dir():
                needed_by = "eval.py" if split == "test" else "training"
                raise SplitUnavailableError(
                    f"LibriSpeech: no {subset} under {self.corpus_dir} for the {split} split: {needed_by} "
                    f"needs a {split} subset; download {subset} (data.download=true) or set "
                    f"data.corpus.subsets.{split}=[...]"
                )
        utterances = []
        for subset in self.subsets.get(split, []):
            for chapter_dir in (self.corpus_dir / subset).glob("*/*"):
                speaker = chapter_dir.parent.name
                texts = _read_transcripts(chapter_dir / f"{speaker}-{chapter_dir.name}.trans.txt")
                for path in chapter_dir.glob("*.flac"):
                    utterances.append(Utterance(path, speaker, texts.get(path.stem, ""), path.stem))
        return sorted(utterances, key=lambda u: u.utt_id)


def _read_transcripts(path: Path) -> dict[str, str]:
    """``UTTID TEXT`` per line; a missing file yields no transcripts rather than hiding the audio."""
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as f:
        rows = (line.strip().partition(" ") for line in f if line.strip())
        return {utt_id: text for utt_id, _, text in rows}
