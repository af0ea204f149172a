"""Speech Commands v0.02, by default only its spoken digits: the SC09 set of WaveGAN / SpecGAN.

Splits are the corpus' own: ``validation_list.txt`` and ``testing_list.txt`` name clips by relative path
(whole speakers per list), everything else is train.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torchaudio

from audiogan.data.corpora.base import SPLITS, Corpus, CorpusNotFoundError, Utterance, require_dir
from audiogan.data.corpora.tiny_speech import DIGITS

SAMPLE_RATE = 16_000
LIST_FILES = {"val": "validation_list.txt", "test": "testing_list.txt"}
HASH_DIVIDER = "_nohash_"
LAYOUT = (
    "speech_commands_v0.02/<word>/<speaker>_nohash_<n>.wav (16 kHz) "
    "+ speech_commands_v0.02/{validation_list.txt, testing_list.txt} (lines '<word>/<file>.wav')"
)


class SpeechCommands(Corpus):
    """Reader of the ``speech_commands_v0.02`` dir, limited to ``words`` (the ten digits: SC09).

    ``utt_id`` is ``<word>/<file stem>``, ``text`` the word and ``speaker`` the speaker hash.
    """

    name = "speech_commands"

    def __init__(
        self, root: str | os.PathLike, words: Sequence[str] = DIGITS, download: bool = False
    ) -> None:
        root = Path(root).expanduser()
        if download and not (root / LIST_FILES["test"]).is_file():
            _download(root)
        self.root = require_dir(root, "SpeechCommands", LAYOUT)
        self.words = tuple(words)
        listed = {split: self._read_list(filename) for split, filename in LIST_FILES.items()}
        self._split: dict[str, list[Utterance]] = {split: [] for split in SPLITS}
        for utterance in self._list_words():
            relative = f"{utterance.utt_id}.wav"
            split = next((s for s, paths in listed.items() if relative in paths), "train")
            self._split[split].append(utterance)

    def _read_list(self, filename: str) -> set[str]:
        path = self.root / filename
        if not path.is_file():
            raise CorpusNotFoundError(f"SpeechCommands: {path} not found; expected layout: {LAYOUT}")
        return {line.strip() for line in path.read_text().splitlines() if line.strip()}

    def _list_words(self) -> list[Utterance]:
        utterances = []
        for word in self.words:
            word_dir = self.root / word
            if not word_dir.is_dir():
                raise CorpusNotFoundError(
                    f"SpeechCommands: no directory for word {word!r} at {word_dir}; expected layout: {LAYOUT}"
                )
            for path in word_dir.glob(f"*{HASH_DIVIDER}*.wav"):
                speaker = path.stem.split(HASH_DIVIDER)[0]
                utterances.append(Utterance(path, speaker, word, f"{word}/{path.stem}"))
        return sorted(utterances, key=lambda u: u.utt_id)

    def utterances(self, split: str) -> list[Utterance]:
        self.check_split(split)
        return list(self._split[split])


def _download(root: Path) -> None:
    """torchaudio unpacks the archive to ``<dir>/<folder_in_archive>/<version>``, so ``root`` must be such."""
    if root.name not in ("speech_commands_v0.01", "speech_commands_v0.02"):
        raise ValueError(
            f"SpeechCommands: download needs a root named 'speech_commands_v0.02' (got {root}), "
            "e.g. <data dir>/SpeechCommands/speech_commands_v0.02"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    torchaudio.datasets.SPEECHCOMMANDS(
        root.parent.parent, url=root.name, folder_in_archive=root.parent.name, download=True
    )
