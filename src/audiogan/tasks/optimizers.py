"""The optimizers and learning-rate schedulers of a task, built from its ``optim`` and ``scheduler`` config
nodes, and the schedulers stepped at the interval each asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from audiogan.errors import ConfigError

NETWORKS = ("generator", "discriminator")
# plateau: ReduceLROnPlateau stepped once per epoch with the last validation's monitor (patience counts
# epochs); plateau_validation: stepped at every validation (patience counts validations)
SCHEDULER_INTERVALS = ("step", "epoch", "plateau", "plateau_validation")


def build_optimizers(
    networks: Mapping[str, nn.Module], optim: Mapping[str, Any], scheduler: Mapping[str, Any]
) -> tuple[list, list, list[tuple[str, dict]]]:
    """(optimizers in ``NETWORKS`` order, their schedulers, (network, scheduler spec) of each scheduler)."""
    optimizers, schedulers, specs = [], [], []
    for name in NETWORKS:
        if name not in optim:
            raise KeyError(f"model.optim.{name} is missing; expected an optimizer config with _target_")
        optimizer = instantiate(optim[name], params=networks[name].parameters())
        optimizers.append(optimizer)
        spec = scheduler.get(name)
        if spec:
            interval = spec.get("interval", "step")
            if interval not in SCHEDULER_INTERVALS:
                raise ValueError(
                    f"model.scheduler.{name}.interval={interval!r}; expected one of {SCHEDULER_INTERVALS}"
                )
            schedulers.append(instantiate(spec["scheduler"], optimizer=optimizer))
            specs.append((name, spec))
    return optimizers, schedulers, specs


def step_schedulers(
    schedulers: list, specs: list[tuple[str, dict]], interval: str, metrics: Mapping[str, Any] | None = None
) -> None:
    """Step each scheduler whose spec asks for ``interval``; plateau schedulers read their ``monitor`` from
    ``metrics`` (a missing one is an error naming what was logged)."""
    for sched, (name, spec) in zip(schedulers, specs, strict=True):
        if spec.get("interval", "step") != interval:
            continue
        if interval.startswith("plateau"):
            monitor = spec.get("monitor")
            if not metrics or monitor not in metrics:
                raise KeyError(
                    f"model.scheduler.{name}.monitor={monitor!r} was not logged at validation; "
                    f"logged: {sorted(metrics or {})}"
                )
            sched.step(float(metrics[monitor]))
        else:
            sched.step()


def check_grad_clip(grad_clip: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> None:
    """``optim.grad_clip``: per network a max norm, None, or ``{part: max_norm}`` over child modules the
    network has; a part it lacks is an error naming the key and the parts there are."""
    for name, clip in grad_clip.items():
        if name not in networks:
            raise ConfigError(f"model.task.optim.grad_clip.{name}: expected one of {sorted(networks)}")
        if isinstance(clip, Mapping):
            parts = dict(networks[name].named_children())
            for part in clip:
                if part not in parts:
                    raise ConfigError(
                        f"model.task.optim.grad_clip.{name}.{part}: the {name} has no part {part!r}; "
                        f"its parts are {sorted(parts)}"
                    )


def clip_by_part(network: nn.Module, max_norms: Mapping[str | None, float]) -> dict[str | None, torch.Tensor]:
    """Clip the gradient norm of each named child of ``network`` to its own max norm (the official BigVGAN
    clips its MPD and CQT-D apart; the part None: the whole network); returns each norm before clipping."""
    return {
        part: torch.nn.utils.clip_grad_norm_(
            (getattr(network, part) if part else network).parameters(), float(max_norm)
        )
        for part, max_norm in max_norms.items()
    }
