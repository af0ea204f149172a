"""Valentini VCTK+DEMAND: 48 kHz noisy/clean pairs of 28 (train) and 2 (test) VCTK speakers."""

from __future__ import annotations

import os

from audiogan.data.corpora.base import Corpus, CorpusNotFoundError, Utterance, require_dir, split_of

DIRS = {
    "train": ("clean_trainset_28spk_wav", "noisy_trainset_28spk_wav", "trainset_28spk_txt"),
    "test": ("clean_testset_wav", "noisy_testset_wav", "testset_txt"),
}
LAYOUT = (
    "<root>/clean_trainset_28spk_wav/<speaker>_<nnn>.wav + noisy_trainset_28spk_wav/ (same names), "
    "<root>/clean_testset_wav/ + noisy_testset_wav/ (same names); optional trainset_28spk_txt/, testset_txt/"
)


class VCTKDemand(Corpus):
    """Reader of the Valentini et al. (2016/2017) speech enhancement set, e.g. the 28-speaker version.

    The corpus only has train and test sets; val holds out a stable ``val_fraction`` of the training files
    (hashed by utterance id, so the same speakers appear in train and val, as in the usual recipes).
    Test is the official test set of unseen speakers and noises. Every clean file needs a noisy twin.
    """

    name = "vctk_demand"

    def __init__(self, root: str | os.PathLike, val_fraction: float = 0.05, seed: int = 0) -> None:
        self.root = require_dir(root, "VCTK-DEMAND", LAYOUT)
        self.val_fraction, self.seed = val_fraction, seed
        self._utterances = {part: self._list(*dirs) for part, dirs in DIRS.items()}

    def _list(self, clean_name: str, noisy_name: str, txt_name: str) -> list[Utterance]:
        clean_dir = require_dir(self.root / clean_name, "VCTK-DEMAND", LAYOUT)
        noisy_dir = require_dir(self.root / noisy_name, "VCTK-DEMAND", LAYOUT)
        utterances = []
        for clean in sorted(clean_dir.glob("*.wav")):
            noisy = noisy_dir / clean.name
            if not noisy.is_file():
                raise CorpusNotFoundError(
                    f"VCTK-DEMAND: {clean} has no noisy twin {noisy}; expected: {LAYOUT}"
                )
            txt = self.root / txt_name / f"{clean.stem}.txt"
            text = txt.read_text(encoding="utf-8").strip() if txt.is_file() else ""
            utterances.append(Utterance(clean, clean.stem.split("_")[0], text, clean.stem, twin=noisy))
        return utterances

    def _split(self, part: str, utterance: Utterance) -> str:
        if part == "test":
            return "test"
        return "val" if split_of(utterance.utt_id, self.val_fraction, 0.0, self.seed) == "val" else "train"

    def utterances(self, split: str) -> list[Utterance]:
        """The split's clean recordings, each with its noisy twin (``Utterance.twin``), sorted by id."""
        self.check_split(split)
        return [u for part, rows in self._utterances.items() for u in rows if self._split(part, u) == split]
