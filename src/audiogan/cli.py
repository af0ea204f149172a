"""The command-line entry points: ``audiogan-train`` ... ``audiogan-report`` and ``audiogan-import``
(pyproject.toml's console scripts) and the root scripts ``train.py`` ... ``report.py``, which call the same
functions.

Each is a Hydra app on the config tree shipped inside the package (``audiogan/conf``, which the repository's
``conf/`` links to), so an installed package needs no checkout; ``--config-dir <folder>`` adds a user's own
config folder to the search path. Relative paths in the configs resolve against the working directory.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import hydra
from hydra.errors import InstantiationException

from audiogan.audio.io import AudioFileError
from audiogan.callbacks.preemption import Preempted
from audiogan.commands import evaluate, import_release, infer, report, sample, train
from audiogan.data.corpora.base import CorpusNotFoundError
from audiogan.errors import CheckpointWriteError, ConfigError, NonFiniteLossError
from audiogan.runs.resolvers import register_resolvers
from audiogan.tasks.voice_conversion import VoiceConversionTask
from audiogan.utils.extras import require_for_overrides

# absolute, so that Hydra reads the files wherever the package is installed (a pkg:// path would need an
# __init__.py in every config folder)
CONF = str(Path(__file__).resolve().parent / "conf")

USER_ERRORS = (
    ConfigError,
    CorpusNotFoundError,
    AudioFileError,
    NonFiniteLossError,
    FileNotFoundError,
    CheckpointWriteError,
)


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


register_resolvers()


def _command(config_name: str):
    """``@hydra.main`` on ``conf/<config_name>.yaml``, user errors (a missing optional dependency among them)
    turned into one line and exit status 1."""

    def decorate(main):
        hydra_main = hydra.main(version_base="1.3", config_path=CONF, config_name=config_name)
        app = hydra_main(exit_on_user_error(main))

        @functools.wraps(app)
        @exit_on_user_error
        def command():
            require_for_overrides(sys.argv[1:])
            app()

        return command

    return decorate


@_command("train")
def train_main(cfg) -> float | None:
    """Train a family: ``audiogan-train model=melgan data=tiny_speech`` (conf/train.yaml)."""
    return train.run(cfg)


@_command("eval")
def eval_main(cfg) -> None:
    """Test-split metrics of a checkpoint: ``audiogan-eval ckpt_path=...`` (conf/eval.yaml)."""
    evaluate.evaluate(cfg)


@_command("infer")
def infer_main(cfg) -> None:
    """Resynthesise or export with a trained generator: ``audiogan-infer ckpt_path=... input=...``."""
    infer.run(cfg)


@_command("sample")
def sample_main(cfg) -> None:
    """Samples of an unconditional generator: ``audiogan-sample ckpt_path=... n=16`` (conf/sample.yaml)."""
    sample.run(cfg)


@_command("convert")
def convert_main(cfg) -> None:
    """Another speaker's voice: ``audiogan-convert ckpt_path=... input=...`` (conf/convert.yaml)."""
    infer.run(cfg, command="convert", task_type=VoiceConversionTask)


@_command("report")
def report_main(cfg) -> None:
    """The listening report of runs: ``audiogan-report runs=[<run dir>,...]`` (conf/report.yaml)."""
    report.run(cfg)


@_command("import")
def import_main(cfg) -> None:
    """Another project's release as an audiogan checkpoint: ``audiogan-import path=g_02500000 out=v1.ckpt``
    (conf/import.yaml)."""
    import_release.run(cfg)
