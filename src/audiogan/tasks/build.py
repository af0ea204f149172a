"""A task from its config node (``model.task``): the class ``_target_`` names, built from the other keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from audiogan.tasks.base import GANTask


def task_from_config(task_config: Mapping[str, Any] | DictConfig, source: str = "model.task") -> GANTask:
    """The task of ``task_config``; arguments under older names are upgraded, so a config written for an
    earlier version still builds (:meth:`GANTask.upgrade_arguments`, which names ``source``)."""
    if isinstance(task_config, DictConfig):
        task_config = OmegaConf.to_container(task_config, resolve=True)
    arguments = dict(task_config)
    cls = get_class(arguments.pop("_target_"))
    return cls(**cls.upgrade_arguments(arguments, source))
