"""Finding the release layouts the families declare (:mod:`audiogan.tasks.release`).

The layouts are found as the families are: through the model configs on the config search path (the
package's own ``conf/`` and any ``--config-dir``), each naming its task class, whose ``release_layouts``
list them; so a new family or layout needs no central list.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml
from hydra.utils import get_class

from audiogan.tasks.base import GANTask
from audiogan.tasks.release import ReleaseLayout

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


def find_layout(path: Path, config_dirs: Iterable[str | os.PathLike] = ()) -> ReleaseLayout | None:
    """The layout that recognises ``path`` as one of its releases, or None (e.g. an audiogan checkpoint)."""
    return next((layout for layout in release_layouts(config_dirs) if layout.recognises(path)), None)


def describe_layouts(config_dirs: Iterable[str | os.PathLike] = ()) -> str:
    """The layouts known, for a message: ``name (files); ...``."""
    return "; ".join(f"{layout.name} ({layout.files})" for layout in release_layouts(config_dirs)) or "none"
