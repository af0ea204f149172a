"""From a checkpoint file to what the commands need: its contents, its run's config and the rebuilt task.

Checkpoints written by ``train.py`` carry the run's resolved config (:data:`RUN_CONFIG_KEY`, put there by
:class:`RunConfigInCheckpoints`), so a ``.ckpt`` copied alone into another folder is enough for inference,
evaluation, sampling and conversion. Older checkpoints fall back to ``<run dir>/config.yaml`` beside
``<run dir>/checkpoints/``. A damaged file (truncated, empty, not a checkpoint) is refused in one line
naming it.

Opening one runs nothing from it: the file is read as plain data (:mod:`audiogan.utils.tensor_files`), and
the configs it carries may only name classes of the trusted modules (:func:`check_targets`), since the task
is rebuilt from them.
"""

from __future__ import annotations

import os
import pickle
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig, OmegaConf

from audiogan.errors import ConfigError, DamagedCheckpointError, UnsafeFileError
from audiogan.runs.layouts import describe_layouts, find_layout
from audiogan.tasks.roles import MelVocoding, require
from audiogan.utils.tensor_files import load_tensor_file

RUN_CONFIG_KEY = "audiogan_run_config"
# what a config read from a file may build: this package, torch's optimizers and lr schedulers, and the
# Lightning trainer, callbacks and loggers of a run's train config
TRUSTED_TARGETS = (
    "audiogan.",
    "torch.optim.",
    "lightning.pytorch.Trainer",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
)
# a user's own family (``--config-dir``): its module, trusted explicitly
TRUST_VARIABLE = "AUDIOGAN_TRUSTED_TARGETS"


def checkpoint_file(path: str | os.PathLike | None) -> Path:
    """The checkpoint as a Path; none given or a missing file is a user error naming what was expected."""
    if path is None:
        raise ConfigError("no checkpoint given: pass ckpt_path=<run dir>/checkpoints/<file>.ckpt")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents, memory-mapped (tensors are read when used, so a look at its config is cheap
    even for a multi-GB file); a damaged file raises :class:`DamagedCheckpointError`."""
    path = checkpoint_file(path)
    size = path.stat().st_size
    if size == 0:
        raise DamagedCheckpointError(
            f"checkpoint {path} is empty (0 bytes); expected a .ckpt written by train.py"
        )
    try:
        contents = load_tensor_file(path, map_location=map_location, mmap=True)
    except UnsafeFileError:
        raise
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DamagedCheckpointError(
            f"checkpoint {path} is damaged ({size} bytes, truncated or not a checkpoint: {reason}); "
            "expected a complete .ckpt written by train.py"
        ) from err
    if not isinstance(contents, dict) or "state_dict" not in contents:
        layout = find_layout(path)
        if layout is not None:
            raise ConfigError(
                f"{path} is a {layout.name} release, not a train.py checkpoint: audiogan.load and init_from= "
                f"open it as it is; to resume or evaluate it, audiogan-import path={path} out=<file.ckpt>"
            )
        found = sorted(map(str, contents))[:8] if isinstance(contents, dict) else type(contents).__name__
        raise ConfigError(
            f"{path} is no checkpoint of train.py (no 'state_dict') and in no release layout known here "
            f"({describe_layouts()}); its top-level keys: {found}"
        )
    for key in ("hyper_parameters", RUN_CONFIG_KEY):
        check_targets(contents.get(key), f"checkpoint {path}: {key}")
    return contents


def trusted_targets() -> tuple[str, ...]:
    """The module prefixes a ``_target_`` read from a file may name: :data:`TRUSTED_TARGETS` and those of
    the ``AUDIOGAN_TRUSTED_TARGETS`` environment variable (comma-separated, e.g. ``my_family``)."""
    extra = [name.strip().rstrip(".") for name in os.environ.get(TRUST_VARIABLE, "").split(",")]
    return TRUSTED_TARGETS + tuple(f"{name}." for name in extra if name)


def check_targets(node: Any, where: str) -> None:
    """Refuse a config read from a file (a checkpoint's, a run dir's) that names, at any depth, a ``_target_``
    outside :func:`trusted_targets`: building it could call any importable function."""
    if isinstance(node, DictConfig | ListConfig):
        node = OmegaConf.to_container(node, resolve=False)
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and not (isinstance(value, str) and value.startswith(trusted_targets())):
                raise UnsafeFileError(
                    f"{where} names _target_={value!r}, not a class of {', '.join(TRUSTED_TARGETS)}: refused "
                    f"(to build a family of your own from it, set {TRUST_VARIABLE}=<its module>)"
                )
            check_targets(value, f"{where}.{key}")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            check_targets(value, f"{where}[{i}]")


def run_dir(ckpt_path: str | os.PathLike) -> Path:
    """``<run dir>/checkpoints/<file>.ckpt`` -> ``<run dir>``; a checkpoint elsewhere -> its own folder."""
    folder = Path(ckpt_path).absolute().parent
    return folder.parent if folder.name == "checkpoints" else folder


def run_config(ckpt_path: str | os.PathLike, contents: dict[str, Any] | None = None) -> DictConfig:
    """The resolved training config of the run a checkpoint belongs to: the one it carries, or for older
    checkpoints the run dir's ``config.yaml``. ``contents``: the checkpoint, when already read."""
    contents = read_checkpoint(ckpt_path) if contents is None else contents
    if RUN_CONFIG_KEY in contents:
        return OmegaConf.create(contents[RUN_CONFIG_KEY])
    path = run_dir(ckpt_path) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{ckpt_path} carries no run config (written before checkpoints did) and there is no {path}; "
            "keep such a checkpoint in <run dir>/checkpoints/ next to the run's config.yaml"
        )
    config = OmegaConf.load(path)  # a safe YAML loader: data only
    check_targets(config, str(path))
    return config


def task_class(
    ckpt_path: str | os.PathLike, contents: dict[str, Any] | None = None
) -> type[L.LightningModule]:
    """The LightningModule class the checkpoint's run trained."""
    return get_class(run_config(ckpt_path, contents).model.task._target_)


def load_task(ckpt_path: str | os.PathLike, map_location: str = "cpu") -> L.LightningModule:
    """The task rebuilt from its saved constructor arguments (older names upgraded) and weights, as the class
    the run trained."""
    contents = read_checkpoint(ckpt_path, map_location)
    cls = task_class(ckpt_path, contents)
    task = cls(**cls.upgrade_arguments(contents["hyper_parameters"], str(ckpt_path)))
    task.on_load_checkpoint(contents)
    task.load_state_dict(contents["state_dict"])
    return task


def load_vocoder(ckpt_path: str | os.PathLike, mel_config: Any, device: str | torch.device = "cpu"):
    """A trained vocoder's ``mel_vocoder`` for mels of front-end ``mel_config`` (an AudioConfig), on
    ``device``: what ``vocoder_ckpt=`` (infer.py, convert.py) and ``audiogan.load(vocoder=)`` render with.
    A checkpoint of a family that is no vocoder is refused naming the role."""
    task = load_task(ckpt_path, map_location=str(device)).to(device)
    return require(task, MelVocoding, f"vocoder_ckpt={ckpt_path}").mel_vocoder(mel_config)


def new_output_dir(ckpt_path: str | os.PathLike, command: str) -> Path:
    """A fresh ``<run dir>/<command>/<date>_<time>_<id>`` (named like run dirs) for a command's outputs."""
    return run_dir(ckpt_path) / command / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{uuid.uuid4().hex[:6]}"


class RunConfigInCheckpoints(L.Callback):
    """Writes the run's resolved config into every checkpoint, so that a checkpoint travels alone."""

    def __init__(self, cfg: DictConfig):
        self.config = OmegaConf.to_container(cfg, resolve=True)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint[RUN_CONFIG_KEY] = self.config


def init_from(task: L.LightningModule, ckpt_path: str | os.PathLike) -> None:
    """Copy another run's generator and discriminator weights into ``task`` (fine-tuning: optimizers,
    counters and schedule stay fresh). A checkpoint of another family, or a parameter of another shape,
    stops at once naming the first mismatch."""
    contents = read_checkpoint(ckpt_path)
    trained = task_class(ckpt_path, contents)
    if not isinstance(task, trained):
        raise ConfigError(
            f"init_from={ckpt_path} is a {trained.__name__} checkpoint; "
            f"this run trains a {type(task).__name__}"
        )
    copy_networks(task, contents["state_dict"], f"init_from={ckpt_path}")


def copy_networks(
    task: L.LightningModule,
    state_dict: dict[str, torch.Tensor],
    source: str,
    networks: tuple[str, ...] = ("generator", "discriminator"),
) -> None:
    """Load ``networks`` of ``task`` from ``state_dict`` (keys ``<network>.<name>``); a missing parameter or
    one of another shape stops naming it and ``source``."""
    for network in networks:
        module = getattr(task, network)
        prefix = f"{network}."
        weights = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        for name, value in module.state_dict().items():
            if name not in weights:
                raise ConfigError(f"{source} has no {prefix}{name} (shape {tuple(value.shape)})")
            if weights[name].shape != value.shape:
                raise ConfigError(
                    f"{source}: {prefix}{name} has shape {tuple(weights[name].shape)} there and "
                    f"{tuple(value.shape)} here; the networks must be configured alike"
                )
        module.load_state_dict(weights)
