"""The errors every layer may raise: the ground floor of the package (it imports nothing of audiogan).

Each is a mistake the user can fix, so the commands print its message in one line instead of a traceback
(:mod:`audiogan.cli`). Errors that belong to one layer live there (:class:`audiogan.audio.io.AudioFileError`,
:class:`audiogan.data.corpora.base.CorpusNotFoundError`).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A composed config that cannot work; the message names the key and what was expected."""


class UnsupportedCommand(ConfigError):
    """A command asked a family for a role it does not take on (e.g. sampling from a vocoder); the message
    names the family and the role."""


class DamagedCheckpointError(ConfigError):
    """A checkpoint file that cannot be read; the message names the file, its size and the reason."""


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; the message names the loss, its value and the batch."""


class UnsafeFileError(ConfigError):
    """A file that would run code when opened (a pickle naming a function to call) or build a class from
    outside the trusted modules; the message names the file and what it tried to load. Nothing of it ran."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, I/O error); the message names the file and the free
    space. The previous checkpoint of that name is intact (writes are atomic)."""
