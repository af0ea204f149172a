"""Reading a released model with the layout that recognises it (:mod:`audiogan.runs.layouts`), and making
it a task of its family."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from hydra.utils import get_class
from omegaconf import DictConfig

from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import copy_networks, load_task
from audiogan.runs.layouts import PACKAGE_CONF, describe_layouts, find_layout
from audiogan.runs.resolvers import compose_config
from audiogan.tasks.base import GANTask
from audiogan.tasks.build import task_from_config
from audiogan.tasks.release import Release, ReleaseLayout

log = logging.getLogger(__name__)


def read_release(
    path: str | os.PathLike,
    config: str | os.PathLike | None = None,
    config_dirs: Iterable[str | os.PathLike] = (),
) -> Release:
    """The release at ``path`` read by the layout that recognises it; a file of no known layout is refused
    in one line listing the layouts known."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"release not found: {path}")
    layout = find_layout(path, config_dirs)
    if layout is None:
        known = describe_layouts(config_dirs)
        raise ConfigError(f"{path} is in no release layout known here; the layouts known: {known}")
    return layout.read(path, config)


def release_config(
    release: Release, config_dirs: Iterable[str | os.PathLike] = (), overrides: Iterable[str] = ()
) -> DictConfig:
    """The training config of the release's family with the release's overrides (its sizes, front-end and
    recipe), then the caller's ``overrides``, as ``train.py model=<family> <all of them>`` composes it."""
    search = [f"hydra.searchpath=[{','.join(f'file://{Path(d).resolve()}' for d in config_dirs)}]"]
    return compose_config(
        str(PACKAGE_CONF), [*search, f"model={release.family}", *release.overrides, *overrides]
    )


def task_from_release(
    release: Release, config_dirs: Iterable[str | os.PathLike] = (), cfg: DictConfig | None = None
) -> GANTask:
    """The release as a task of its family, built from ``cfg`` (default: :func:`release_config`), its weights
    loaded (a release without a discriminator keeps a fresh one)."""
    cfg = release_config(release, config_dirs) if cfg is None else cfg
    task = task_from_config(cfg.model.task, f"the {release.family} release")
    try:
        missing, unexpected = task.load_state_dict(release.state_dict, strict=False)
    except RuntimeError as err:  # a weight of another shape
        mismatch = next(line.strip() for line in str(err).splitlines() if "size mismatch" in line)
        raise ConfigError(f"{release.family} release: {mismatch}") from None
    wrong = unexpected + [key for key in missing if not key.startswith("discriminator.")]
    if wrong:
        raise ConfigError(f"{release.family} release: weights that do not fit its network: {sorted(wrong)}")
    for note in release.notes:
        log.info("%s release: %s", release.family, note)
    return task


def init_from_release(task: GANTask, path: Path, layout: ReleaseLayout) -> None:
    """``init_from=`` a released file: its networks copied into ``task`` (a generator-only release leaves the
    discriminator fresh). The run's config must build the release's sizes; a parameter of another shape
    stops naming it."""
    release = layout.read(path)
    # the release's own model config may build on its family's (bigvgan_v2_24k on bigvgan): its task class
    trained = get_class(release_config(release).model.task._target_)
    if not isinstance(task, trained):
        raise ConfigError(
            f"init_from={path} is a {layout.name} release ({release.family}); this run trains a "
            f"{type(task).__name__}"
        )
    held = tuple(
        n for n in ("generator", "discriminator") if any(k.startswith(f"{n}.") for k in release.state_dict)
    )
    copy_networks(task, release.state_dict, f"init_from={path} ({layout.name})", held)
    for note in release.notes:
        log.info("%s release: %s", release.family, note)


def open_task(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> GANTask:
    """The task of a train.py checkpoint, or of a release in a layout known here, imported on the fly (said
    in one log line): what ``audiogan.load`` and ``infer.py`` open."""
    layout = find_layout(Path(path))
    if layout is None:
        return load_task(path, map_location=str(map_location))
    log.info("%s is a %s release: imported on the fly", path, layout.name)
    return task_from_release(layout.read(Path(path))).to(map_location)
