"""The optional dependency groups of pyproject.toml (``pip install 'audiogan[export,sweeps,slurm]'``;
``make install`` installs them all) and the check that stops a command needing a missing one, naming the pip
command that adds it."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from audiogan.errors import ConfigError

# extra -> (a module it installs, what needs it)
EXTRAS = {
    "export": ("onnx", "export=onnx|all (ONNX export, checked in onnxruntime)"),
    "sweeps": ("hydra_plugins.hydra_optuna_sweeper", "hparams_search= (Optuna sweeps)"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "launcher=slurm|submitit_local"),
}
# config groups whose every option needs an extra: checked on the command line, as Hydra composes them before
# any code of ours runs
GROUP_EXTRAS = {"hparams_search": "sweeps", "launcher": "slurm"}


class MissingExtraError(ConfigError):
    """A command needs an optional dependency group that is not installed; the message says how to add it."""


def require(extra: str, module: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` (default: the extra's own) is importable."""
    own_module, needed_by = EXTRAS[extra]
    module = module or own_module
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing too
        found = False
    if not found:
        raise MissingExtraError(
            f"{needed_by} needs the optional '{extra}' dependencies ({module} is not installed): "
            f"pip install 'audiogan[{extra}]'"
        )


def require_for_overrides(overrides: Sequence[str]) -> None:
    """Check the extras that command-line ``overrides`` (``group=option``) need, before Hydra composes."""
    for override in overrides:
        group, sep, option = override.lstrip("+").partition("=")
        if sep and option != "null" and group in GROUP_EXTRAS:
            require(GROUP_EXTRAS[group])
