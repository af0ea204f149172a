"""Finding the release layouts the families declare, and reading a released model with the right one.

The layouts are found as the families are: through the model configs on the config search path (the
package's own ``conf/`` and any ``--config-dir``), each naming its task class, whose ``release_layouts``
list them (:mod:`audiogan.tasks.release`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import yaml
from hydra.utils import get_class

from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import copy_networks
from audiogan.runs.resolvers import compose_config
from audiogan.tasks.base import GANTask
from audiogan.tasks.build import task_from_config
from audiogan.tasks.release import Release, ReleaseLayout

log = logging.getLogger(__name__)

PACKAGE_CONF = Path(__file__).resolve().parents[1] / "conf"


def family_task_classes(config_dirs: Iterable[str | os.PathLike] = ()) -> dict[str, type[GANTask]]:
    """{family: its task class} of every model config under the package's conf/ and ``config_dirs``."""
    families = {}
    for folder in [PACKAGE_CONF, *map(Path, config_dirs)]:
        for path in sorted((folder / "model").glob("*.yaml")):
            target = (yaml.safe_load(path.read_text()) or {}).get("task", {}).get("_target_")
            if target:
                families[path.stem] = get_class(target)
    return families


def release_layouts(config_dirs: Iterable[str | os.PathLike] = ()) -> list[ReleaseLayout]:
    """One instance of every layout the families on the search path declare, each once."""
    classes = {}
    for task_class in family_task_classes(config_dirs).values():
        for layout in getattr(task_class, "release_layouts", ()):
            classes.setdefault(layout, None)
    return [layout() for layout in classes]


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
        known = "; ".join(f"{layout.name} ({layout.files})" for layout in release_layouts(config_dirs))
        raise ConfigError(f"{path} is in no release layout known here; the layouts known: {known or 'none'}")
    return layout.read(path, config)


def find_layout(path: Path, config_dirs: Iterable[str | os.PathLike] = ()) -> ReleaseLayout | None:
    """The layout that recognises ``path`` as one of its releases, or None (e.g. an audiogan checkpoint)."""
    return next((layout for layout in release_layouts(config_dirs) if layout.recognises(path)), None)


def task_from_release(release: Release, config_dirs: Iterable[str | os.PathLike] = ()) -> GANTask:
    """The release as a task of its family: the family's model config with the release's overrides, its
    weights loaded (a release without a discriminator keeps a fresh one)."""
    search = [f"hydra.searchpath=[{','.join(f'file://{Path(d).resolve()}' for d in config_dirs)}]"]
    cfg = compose_config(str(PACKAGE_CONF), [*search, f"model={release.family}", *release.overrides])
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
    trained = family_task_classes()[release.family]
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
