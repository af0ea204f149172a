"""VCTK 0.92: 110 English speakers, two microphones, 48 kHz FLAC with leading/trailing silence trimmed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torchaudio

from audiogan.data.corpora.base import HashSplitCorpus, Utterance, require_dir

AUDIO_DIR = "wav48_silence_trimmed"
LAYOUT = (
    f"VCTK-Corpus-0.92/{AUDIO_DIR}/<speaker>/<speaker>_<nnn>_mic1.flac|_mic2.flac "
    "+ VCTK-Corpus-0.92/txt/<speaker>/<speaker>_<nnn>.txt"
)
MICS = ("mic1", "mic2")


class VCTK(HashSplitCorpus):
    """Reader of the ``VCTK-Corpus-0.92`` directory, one microphone at a time.

    Listing follows the audio files, so every utterance has audio (p280 has no mic2 recordings, p362
    misses some). Utterances without a transcript (all of p315) are kept with text ``""``: vocoders and
    voice conversion need the audio, not the text. ``speakers`` restricts the corpus (default: all).
    Splits hash the sentence number ``<nnn>``, so a sentence number lands in the same split for every
    speaker; val and test (when their fraction is above 0) get at least one sentence number each.
    """

    name = "vctk"

    def __init__(
        self,
        root: str | os.PathLike,
        mic: str = "mic1",
        speakers: Sequence[str] | None = None,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        seed: int = 0,
        download: bool = False,
    ) -> None:
        if mic not in MICS:
            raise ValueError(f"VCTK: mic must be one of {MICS}, got {mic!r}")
        root = Path(root).expanduser()
        if download and not (root / AUDIO_DIR).is_dir():
            _download(root)
        self.root = require_dir(root, "VCTK", LAYOUT)
        audio_dir = require_dir(root / AUDIO_DIR, "VCTK", LAYOUT)
        available = sorted(p.name for p in audio_dir.iterdir() if p.is_dir())
        unknown = sorted(set(speakers or ()) - set(available))
        if unknown:
            raise ValueError(f"VCTK: unknown speakers {unknown}; valid speakers: {available}")
        self.mic = mic
        self.speakers = sorted(set(speakers)) if speakers else available
        listed = [
            self._utterance(path) for s in self.speakers for path in (audio_dir / s).glob(f"*_{mic}.flac")
        ]
        super().__init__(listed, val_fraction, test_fraction, seed)

    def _utterance(self, path: Path) -> Utterance:
        utt_id = path.name.removesuffix(f"_{self.mic}.flac")
        speaker = path.parent.name
        txt = self.root / "txt" / speaker / f"{utt_id}.txt"
        text = txt.read_text(encoding="utf-8").strip() if txt.is_file() else ""
        return Utterance(path, speaker, text, utt_id)

    @staticmethod
    def sentence_id(utterance: Utterance) -> str:
        """The sentence number ``<nnn>`` of ``<speaker>_<nnn>``."""
        return utterance.utt_id.rsplit("_", 1)[1]

    def split_key(self, utterance: Utterance) -> str:
        return self.sentence_id(utterance)


def _download(root: Path) -> None:
    """torchaudio extracts the archive to ``<parent>/VCTK-Corpus-0.92``, so ``root`` must carry that name."""
    if root.name != "VCTK-Corpus-0.92":
        raise ValueError(f"VCTK: download needs a root named 'VCTK-Corpus-0.92' (got {root})")
    root.parent.mkdir(parents=True, exist_ok=True)
    torchaudio.datasets.VCTK_092(str(root.parent), download=True)
