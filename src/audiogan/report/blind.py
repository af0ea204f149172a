"""The key of a blind comparison: per clip, which hidden column (A, B, ...) holds which run.

Columns are shuffled per clip by ``random.Random(seed)``, so a seed and the runs give the same key again.
The key lives in the report folder's ``key.json`` and never in the page: the page and the answers files it
saves carry only the key's id and where the key was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from audiogan.errors import ConfigError
from audiogan.utils.files import atomic_write

KEY_FILE = "key.json"


class AnswersError(ConfigError):
    """An answers or key file that cannot be read or does not match; the message names the file."""


@dataclass(frozen=True)
class BlindKey:
    """``columns``: {clip: {letter: run label}}, letters in page order."""

    seed: int
    columns: dict[str, dict[str, str]]

    @property
    def id(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def save(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps({"id": self.id, **asdict(self)}, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> BlindKey:
        try:
            data = json.loads(Path(path).read_text())
            key = cls(int(data["seed"]), {c: dict(cols) for c, cols in data["columns"].items()})
        except FileNotFoundError as err:
            raise AnswersError(
                f"blind report key not found: {path} (pass key=<blind report>/{KEY_FILE})"
            ) from err
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise AnswersError(f"{path}: not a blind report key, expected seed and columns ({err})") from err
        if data.get("id") != key.id:
            raise AnswersError(f"{path}: altered, its columns do not give its id {data.get('id')!r}")
        return key


def shuffle_columns(clips: dict[str, list[str]], seed: int) -> BlindKey:
    """A key for ``clips`` ({clip: run labels that have it}): each clip's runs in a seeded random order."""
    rng = random.Random(seed)
    columns = {}
    for clip, runs in clips.items():
        if len(runs) > len(string.ascii_uppercase):
            raise ConfigError(f"blind=true compares at most 26 runs per clip, got {len(runs)} for {clip}")
        order = list(runs)
        rng.shuffle(order)
        columns[clip] = dict(zip(string.ascii_uppercase[: len(order)], order, strict=True))
    return BlindKey(seed, columns)
