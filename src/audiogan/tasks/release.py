"""How another project ships a trained model (its release layout), as a family declares it: a reader that
turns those files into this package's terms, and a writer that gives them back in the project's own layout.

A family lists its layouts in its task class (``release_layouts``); :mod:`audiogan.runs.releases` finds them
through the model configs on the config search path, as the families themselves are found, so a new family
or layout needs no central list.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class Release:
    """A released model in this package's terms: the ``family`` (its model config) with the config
    ``overrides`` that give the release's sizes and front-end, its weights under this package's names
    (``generator.*``, and ``discriminator.*`` where the release has them) and what the reader had to assume,
    said to the user in one line each (``notes``)."""

    family: str
    overrides: list[str]
    state_dict: dict[str, torch.Tensor]
    notes: list[str] = field(default_factory=list)


class ReleaseLayout(ABC):
    """One project's layout of released model files. ``name``: the project as users know it (e.g. the
    repository); ``files``: what a release of it holds, for the message that lists the layouts known."""

    name: str
    files: str

    @abstractmethod
    def recognises(self, path: Path) -> bool:
        """Whether ``path`` (a file or a folder) is a release in this layout; reads as little as it can."""

    @abstractmethod
    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        """The release at ``path`` (with its ``config``, where the project keeps it apart) as a
        :class:`Release`. A file of this layout whose shapes differ from what its config builds names the
        first key that differs."""

    @abstractmethod
    def write(self, task: Any, folder: Path) -> list[Path]:
        """``task``'s networks written into ``folder`` in this layout, so the project's own code loads them;
        returns the files written."""
