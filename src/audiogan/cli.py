"""Shared behaviour of the command-line entry points."""

from __future__ import annotations

import functools
import logging
import sys

from hydra.errors import InstantiationException

from audiogan.audio.io import AudioFileError
from audiogan.callbacks.preemption import Preempted
from audiogan.data.corpora.base import CorpusNotFoundError
from audiogan.tasks.base import NonFiniteLossError
from audiogan.utils.config import ConfigError

USER_ERRORS = (ConfigError, CorpusNotFoundError, AudioFileError, NonFiniteLossError, FileNotFoundError)


def _user_error(err: BaseException) -> BaseException | None:
    """The user-fixable error behind ``err``, looking through Hydra's instantiation wrapper."""
    if isinstance(err, InstantiationException) and err.__cause__ is not None:
        return _user_error(err.__cause__)
    return err if isinstance(err, USER_ERRORS) else None


def exit_on_user_error(main):
    """Turn the errors a user can fix into one clear logged line and exit status 1, not a traceback; a run
    stopped by a signal (:class:`Preempted`, its checkpoint saved) hands the signal to the handler it had
    before training, if any, and exits with 128 + the signal's number."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except Preempted as stop:
            logging.getLogger("audiogan").warning("%s", stop)
            stop.hand_over()
            sys.exit(stop.exit_code)
        except Exception as err:
            cause = _user_error(err)
            if cause is None:
                raise
            logging.getLogger("audiogan").error("%s: %s", type(cause).__name__, cause)
            sys.exit(1)

    return wrapper
