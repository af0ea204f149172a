"""Find the utterances whose audio is usable, so one bad file cannot crash a training run hours in."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from audiogan.audio.io import AudioFileError, load_audio
from audiogan.data.corpora.base import Utterance
from audiogan.utils.files import atomic_write

log = logging.getLogger(__name__)

FLUSH_SECONDS = 60.0  # an interrupted first scan keeps all but the last minute of its work


@dataclass
class ScanResult:
    usable: list[Utterance] = field(default_factory=list)
    skipped: list[tuple[Utterance, str]] = field(default_factory=list)


def usable_utterances(
    utterances: Iterable[Utterance],
    sample_rate: int,
    min_samples: int,
    cache_dir: str | os.PathLike | None = None,
    silence_threshold: float = 1e-4,
) -> ScanResult:
    """Decode every file once with :func:`load_audio`; skip (and log) unreadable, empty, silent, short ones.

    An utterance with a ``twin`` (e.g. its noisy version) is usable only when both files are.

    Verdicts are cached in ``cache_dir`` per file path, size and mtime (one JSON file per setting of
    ``sample_rate``, ``min_samples`` and ``silence_threshold``), so rescanning a big corpus is only stats.
    """
    cache = _Cache(cache_dir, _cache_name(sample_rate, min_samples, silence_threshold))
    result = ScanResult()
    for utt in utterances:
        reason = _reason(utt, cache, sample_rate, min_samples, silence_threshold)
        if reason:
            log.warning("skipping %s", reason)
            result.skipped.append((utt, reason))
        else:
            result.usable.append(utt)
    cache.flush()
    log.log(
        logging.WARNING if result.skipped else logging.INFO,
        "audio scan: skipped %d of %d utterances (unreadable, empty, silent or too short)",
        len(result.skipped),
        len(result.skipped) + len(result.usable),
    )
    return result


def any_usable(
    utterances: Iterable[Utterance],
    sample_rate: int,
    min_samples: int,
    cache_dir: str | os.PathLike | None = None,
    silence_threshold: float = 1e-4,
) -> bool:
    """Whether any of ``utterances`` is usable (as :func:`usable_utterances` judges and caches), decoding
    them in order only until one is. Logs nothing: the split's own scan reports the bad files."""
    cache = _Cache(cache_dir, _cache_name(sample_rate, min_samples, silence_threshold))
    try:
        return any(not _reason(utt, cache, sample_rate, min_samples, silence_threshold) for utt in utterances)
    finally:
        cache.flush()


def _cache_name(sample_rate: int, min_samples: int, silence_threshold: float) -> str:
    return f"scan-sr{sample_rate}-min{min_samples}-sil{silence_threshold:g}.json"


def _reason(
    utt: Utterance, cache: _Cache, sample_rate: int, min_samples: int, silence_threshold: float
) -> str:
    """Why the utterance is unusable (its file, or its twin's), ``""`` when both are fine."""
    reason = ""
    for path in (utt.path, utt.twin) if utt.twin is not None else (utt.path,):
        reason = reason or _verdict(path, cache, sample_rate, min_samples, silence_threshold)
    return reason


def _verdict(path: Path, cache: _Cache, sample_rate: int, min_samples: int, silence_threshold: float) -> str:
    """Why the file is unusable (``""`` when fine), from the cache when the file has not changed."""
    try:
        stat = os.stat(path)
    except OSError as err:
        return f"{path}: cannot read audio file ({err.strerror})"
    stamp = [stat.st_size, stat.st_mtime_ns]
    reason = cache.get(path, stamp)
    if reason is None:
        reason = _problem(path, sample_rate, min_samples, silence_threshold)
        cache.put(path, stamp, reason)
    return reason


def _problem(path: Path, sample_rate: int, min_samples: int, silence_threshold: float) -> str:
    """Why the file is unusable, or ``""`` when it is fine."""
    try:
        load_audio(path, sample_rate, min_samples, silence_threshold)
    except AudioFileError as err:
        return str(err)
    return ""


class _Cache:
    """``{path: [size, mtime_ns, reason]}`` with ``reason == ""`` for usable files; a no-op without a dir."""

    def __init__(self, cache_dir: str | os.PathLike | None, filename: str) -> None:
        self.path = Path(cache_dir) / filename if cache_dir is not None else None
        self.entries: dict[str, list] = {}
        self.dirty = False
        self.flushed_at = time.monotonic()
        if self.path is not None and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text())
            except (OSError, ValueError):
                log.warning("ignoring unreadable scan cache %s", self.path)

    def get(self, audio_path: Path, stamp: list[int]) -> str | None:
        """The cached verdict, or ``None`` when the file is new or has changed since."""
        entry = self.entries.get(os.path.abspath(audio_path))
        return entry[2] if entry is not None and entry[:2] == stamp else None

    def put(self, audio_path: Path, stamp: list[int], reason: str) -> None:
        if self.path is None:
            return
        self.entries[os.path.abspath(audio_path)] = [*stamp, reason]
        self.dirty = True
        if time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write atomically (temp file + rename), so concurrent readers never see half a file."""
        if self.path is None or not self.dirty:
            return
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(self.entries))
        self.dirty, self.flushed_at = False, time.monotonic()
