"""Shared behaviour of the command-line entry points."""

from __future__ import annotations

import functools
import logging
import sys

from audiogan.audio.io import AudioFileError
from audiogan.data.corpora.base import CorpusNotFoundError
from audiogan.tasks.base import NonFiniteLossError
from audiogan.utils.config import ConfigError

USER_ERRORS = (ConfigError, CorpusNotFoundError, AudioFileError, NonFiniteLossError, FileNotFoundError)


def exit_on_user_error(main):
    """Turn the errors a user can fix into one clear line and exit status 1, not a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as err:
            logging.getLogger("audiogan").error("%s: %s", type(err).__name__, err)
            print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
            sys.exit(1)

    return wrapper
