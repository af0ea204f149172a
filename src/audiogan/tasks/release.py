"""How another project ships a trained model (its release layout), as a family declares it: a reader that
turns those files into this package's terms, and a writer that gives them back in the project's own layout.

A family lists its layouts in its task class (``release_layouts``); :mod:`audiogan.runs.releases` finds them
through the model configs on the config search path, as the families themselves are found, so a new family
or layout needs no central list.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from audiogan.errors import ConfigError
from audiogan.utils.tensor_files import load_tensor_file

# hook weight norm's entries (torch.nn.utils.weight_norm, in most released files) -> the parametrization's
HOOK_WEIGHT_NORM = {
    "weight_g": "parametrizations.weight.original0",
    "weight_v": "parametrizations.weight.original1",
}


def from_hook_weight_norm(key: str) -> str:
    """``conv.weight_g`` / ``conv.weight_v`` -> our parametrized names; other keys as they are."""
    head, _, tail = key.rpartition(".")
    return f"{head}.{HOOK_WEIGHT_NORM.get(tail, tail)}"


def to_hook_weight_norm(key: str) -> str:
    """The inverse of :func:`from_hook_weight_norm`."""
    for hook, parametrized in HOOK_WEIGHT_NORM.items():
        key = key.replace(parametrized, hook)
    return key


def config_override(key: str, value: Any) -> str:
    """``key=value`` as a Hydra override and one shell word (lists without spaces)."""
    return f"{key}={json.dumps(value, separators=(',', ':')) if not isinstance(value, str) else value}"


def load_release_file(path: Path, keys: set[str], description: str) -> dict[str, Any]:
    """The dict a released file holds (read as data: :func:`audiogan.utils.tensor_files.load_tensor_file`),
    refused naming the file, what it should hold (``description``: e.g. "a jik876/hifi-gan generator file")
    and what it holds when it lacks one of ``keys``."""
    contents = load_tensor_file(path)
    if not isinstance(contents, dict) or not keys <= set(contents):
        found = sorted(contents) if isinstance(contents, dict) else type(contents).__name__
        raise ConfigError(f"{path}: {description} holds {sorted(keys)}; found {found}")
    return contents


def optimizer_overrides(official: dict[str, Any]) -> list[str]:
    """The overrides of a jik876-style config.json's optimizer keys (HiFi-GAN, BigVGAN), set for both
    networks alike as the official code does: ``learning_rate``, ``adam_b1`` / ``adam_b2`` (AdamW's betas)
    and ``lr_decay`` (the ExponentialLR's gamma), each where the file has it."""
    overrides = []
    for network in ("generator", "discriminator"):
        if "learning_rate" in official:
            overrides.append(config_override(f"model.task.optim.{network}.lr", official["learning_rate"]))
        if "adam_b1" in official:
            betas = [official["adam_b1"], official["adam_b2"]]
            overrides.append(config_override(f"model.task.optim.{network}.betas", betas))
        if "lr_decay" in official:
            gamma = official["lr_decay"]
            overrides.append(config_override(f"model.task.scheduler.{network}.scheduler.gamma", gamma))
    return overrides


@dataclass
class TrainingState:
    """Where a released training run stopped, in this package's terms, so that it can go on: the ``batches``
    it trained, the ``epoch`` it goes on in (from that epoch's first batch, as the project's own resume
    does), each network's optimizer state by this package's parameter names (see :func:`optimizer_by_name`)
    and how often its learning-rate schedulers have stepped, in the unit the family's config steps them
    (HiFi-GAN: epochs; BigVGAN: batches; None: it has none)."""

    batches: int
    epoch: int
    optimizers: dict[str, dict[str, Any]]
    scheduler_steps: int | None = None


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
    training: TrainingState | None = None


def optimizer_by_name(state_dict: dict[str, Any], names: list[str], source: str) -> dict[str, Any]:
    """An optimizer's ``state_dict()`` keyed by parameter name: ``{"state": {name: its moments and step},
    "group": the hyperparameters}``. ``names``: the parameters in the order the optimizer was built over
    (a ``torch.save``d state_dict keeps its module's parameter order), already in this package's terms.
    Optimizers index parameters by position, so this is what lets another project's order differ from ours."""
    groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
    if not groups or len(groups) != 1 or len(groups[0]["params"]) != len(names):
        found = [len(g["params"]) for g in groups] if groups else "none"
        raise ConfigError(
            f"{source}: expected one parameter group over {len(names)} parameters; found groups of {found}"
        )
    ids = groups[0]["params"]
    state = {
        name: state_dict["state"][i] for name, i in zip(names, ids, strict=True) if i in state_dict["state"]
    }
    return {"state": state, "group": {k: v for k, v in groups[0].items() if k != "params"}}


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
