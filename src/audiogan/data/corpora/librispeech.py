"""LibriSpeech: read audiobooks split into official subsets, which define our train/val/test splits."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torchaudio

from audiogan.data.corpora.base import SPLITS, Corpus, CorpusNotFoundError, Utterance, require_dir

LAYOUT = (
    "LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac "
    "+ LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt (lines 'UTTID TEXT')"
)
DEFAULT_SUBSETS = {"train": ["train-clean-100"], "val": ["dev-clean"], "test": ["test-clean"]}


class LibriSpeech(Corpus):
    """Reader of ``LibriSpeech/<subset>/...``; ``root`` is the ``LibriSpeech`` dir or the dir holding it.

    Splits are whole official subsets (``subsets[split]``; a split left out is empty), so no speaker or
    chapter leaks between them.
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
        if len(self._all_subsets()) < sum(map(len, self.subsets.values())):
            raise ValueError(f"LibriSpeech: a subset listed twice would make splits overlap: {self.subsets}")
        # torchaudio's archives unpack to ``<dir>/LibriSpeech/<subset>``.
        is_corpus_dir = root.name == "LibriSpeech" and not (root / "LibriSpeech").is_dir()
        self.corpus_dir = root if is_corpus_dir else root / "LibriSpeech"
        if download:
            self.corpus_dir.parent.mkdir(parents=True, exist_ok=True)
            for subset in self._all_subsets():
                if not (self.corpus_dir / subset).is_dir():
                    torchaudio.datasets.LIBRISPEECH(self.corpus_dir.parent, url=subset, download=True)
        require_dir(self.corpus_dir, "LibriSpeech", LAYOUT)
        for subset in self._all_subsets():
            if not (self.corpus_dir / subset).is_dir():
                raise CorpusNotFoundError(
                    f"LibriSpeech: subset {subset!r} not found at {self.corpus_dir / subset}; "
                    f"expected layout: {LAYOUT} (set data.download=true or change the subsets)"
                )

    def _all_subsets(self) -> list[str]:
        return sorted({subset for names in self.subsets.values() for subset in names})

    def utterances(self, split: str) -> list[Utterance]:
        """Walks the split's subsets on every call: listing train-960 is slow, so only list what is asked."""
        self.check_split(split)
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
