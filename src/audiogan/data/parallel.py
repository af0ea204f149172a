"""Parallel speech for voice conversion: time-aligned (source mel, target mel) pairs of one sentence.

From a split's utterances, the recordings of the two configured speakers are paired by sentence (the
utterance id without its ``<speaker>_`` prefix, which is the sentence id of both ``tiny_speech`` and VCTK,
and, with ``match_text``, the same words). Each pair is turned into dB log-mels, silence-trimmed at both
ends and DTW-aligned to the target's timing once (``audiogan.audio.alignment``); the aligned mels are cached
on disk under ``cache_dir/parallel_mels/`` keyed by the two files' bytes and every setting that shapes the
result, so a second build only reads the cache. Items are ``{source_mel, target_mel}`` [n_mels, frames]:
random fixed-length crops for training (``segment_frames``), whole pairs for validation and test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from audiogan.audio.alignment import align, trim_silence
from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram
from audiogan.audio.io import load_audio
from audiogan.data.corpora.base import Utterance
from audiogan.utils.config import to_dict
from audiogan.utils.files import atomic_write
from audiogan.utils.tensor_files import load_tensor_file

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the pair computation changes in a way the settings cannot see
CACHE_SUBDIR = "parallel_mels"


def sentence_key(utterance: Utterance) -> str:
    """The sentence an utterance reads: its id without the ``<speaker>_`` prefix (``p225_003`` -> ``003``)."""
    prefix = f"{utterance.speaker}_"
    return utterance.utt_id[len(prefix) :] if utterance.utt_id.startswith(prefix) else utterance.utt_id


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def pair_utterances(
    utterances: list[Utterance], source_speaker: str, target_speaker: str, match_text: bool = True
) -> list[tuple[Utterance, Utterance]]:
    """(source, target) utterances of the same sentence, sorted by sentence key.

    ``match_text`` keeps a pair only when both transcripts exist and agree up to case and punctuation (VCTK
    reuses sentence numbers for different newspaper sentences across speakers).
    """
    by_speaker: dict[str, dict[str, Utterance]] = {source_speaker: {}, target_speaker: {}}
    for utterance in utterances:
        if utterance.speaker in by_speaker:
            by_speaker[utterance.speaker][sentence_key(utterance)] = utterance
    sources, targets = by_speaker[source_speaker], by_speaker[target_speaker]
    pairs = [(sources[key], targets[key]) for key in sorted(sources.keys() & targets.keys())]
    if match_text:
        pairs = [(s, t) for s, t in pairs if _words(s.text) and _words(s.text) == _words(t.text)]
    return pairs


class ParallelMels(Dataset):
    """Aligned dB-mel pairs of ``source_speaker`` -> ``target_speaker`` (see the module docstring).

    ``audio`` is the shared AudioConfig node (its ``log`` must be ``db``: trimming and alignment work in dB).
    ``segment_frames`` crops training items at a random offset (pairs shorter than that are padded by
    repeating their last frame); ``None`` returns whole pairs. ``max_pairs`` keeps the first pairs only
    (fixed validation clips). ``top_db`` is the trimming threshold, ``n_coeffs`` the cepstral order of DTW.
    ``cache_hits`` / ``cache_misses`` count how the pairs were obtained.
    """

    def __init__(
        self,
        utterances: list[Utterance],
        sample_rate: int,
        audio: Mapping[str, Any],
        source_speaker: str,
        target_speaker: str,
        segment_frames: int | None = None,
        max_pairs: int | None = None,
        match_text: bool = True,
        top_db: float = 60.0,
        n_coeffs: int = 35,
        cache_dir: str | None = None,
    ):
        self.audio_config = AudioConfig.from_config(to_dict(audio))
        if self.audio_config.log != "db":
            raise ValueError(
                f"ParallelMels needs dB log-mels (audio.log=db), got audio.log={self.audio_config.log!r}"
            )
        if sample_rate != self.audio_config.sample_rate:
            raise ValueError(
                f"ParallelMels: sample_rate={sample_rate} but audio.sample_rate="
                f"{self.audio_config.sample_rate}"
            )
        if segment_frames is not None and segment_frames < 1:
            raise ValueError(f"ParallelMels: segment_frames must be >= 1 or null, got {segment_frames}")
        self.segment_frames = segment_frames
        self.settings = {
            "version": CACHE_VERSION,
            "audio": {k: v for k, v in vars(self.audio_config).items() if k != "griffin_lim_iters"},
            "top_db": float(top_db),
            "n_coeffs": int(n_coeffs),
        }
        self.top_db, self.n_coeffs = float(top_db), int(n_coeffs)
        self.cache_dir = Path(cache_dir) / CACHE_SUBDIR if cache_dir else None
        self.cache_hits = self.cache_misses = 0
        pairs = pair_utterances(utterances, source_speaker, target_speaker, match_text)
        if max_pairs is not None:
            pairs = pairs[:max_pairs]
        if not pairs:
            speakers = sorted({u.speaker for u in utterances})
            raise ValueError(
                f"ParallelMels: no parallel utterances of {source_speaker!r} -> {target_speaker!r} among "
                f"{len(utterances)} utterances (speakers {speakers}); check source_speaker / target_speaker"
            )
        self._log_mel = LogMelSpectrogram(self.audio_config)
        self.pairs = [self._aligned(source, target) for source, target in pairs]
        self.names = [sentence_key(source) for source, _ in pairs]
        del self._log_mel
        log.info(
            "parallel pairs %s -> %s: %d (%d from cache)",
            source_speaker,
            target_speaker,
            len(self.pairs),
            self.cache_hits,
        )

    # ----------------------------------------------------------------- building
    def _key(self, source: Utterance, target: Utterance) -> str:
        digest = hashlib.sha1(json.dumps(self.settings, sort_keys=True).encode())
        for path in (source.path, target.path):
            digest.update(hashlib.sha1(Path(path).read_bytes()).digest())
        return digest.hexdigest()

    def _mel(self, path: Path) -> torch.Tensor:
        wave = load_audio(
            path, self.audio_config.sample_rate, min_samples=self.audio_config.n_fft, silence_threshold=0.0
        )
        return trim_silence(self._log_mel(wave.unsqueeze(0))[0], self.top_db)

    def _aligned(self, source: Utterance, target: Utterance) -> tuple[torch.Tensor, torch.Tensor]:
        key = self._key(source, target)
        file = self.cache_dir / f"{key}.pt" if self.cache_dir else None
        if file is not None and file.is_file():
            try:
                cached = load_tensor_file(file)
                self.cache_hits += 1
                return cached["source"], cached["target"]
            except (OSError, RuntimeError, KeyError, EOFError) as err:
                log.warning("rebuilding unreadable cached pair %s (%s)", file, err)
        with torch.no_grad():
            source_mel, target_mel = align(self._mel(source.path), self._mel(target.path), self.n_coeffs)
        source_mel, target_mel = source_mel.contiguous(), target_mel.contiguous()
        self.cache_misses += 1
        if file is not None:
            with atomic_write(file) as tmp:
                torch.save({"source": source_mel, "target": target_mel}, tmp)
        return source_mel, target_mel

    # ----------------------------------------------------------------- items
    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """``key``: an index, or ``(index, seed)`` from the SeededSampler (the seed picks the crop)."""
        index, seed = key if isinstance(key, tuple) else (key, None)
        source, target = self.pairs[index]
        if self.segment_frames is not None:
            frames = source.shape[-1]
            if frames < self.segment_frames:
                pad = self.segment_frames - frames
                source = F.pad(source[None], (0, pad), mode="replicate")[0]
                target = F.pad(target[None], (0, pad), mode="replicate")[0]
            else:
                generator = torch.Generator().manual_seed(seed) if seed is not None else None
                start = int(torch.randint(frames - self.segment_frames + 1, (), generator=generator))
                source = source[..., start : start + self.segment_frames]
                target = target[..., start : start + self.segment_frames]
        return {"source_mel": source, "target_mel": target}
