"""The optimizers and learning-rate schedulers of a task, built from its ``optim`` and ``scheduler`` config
nodes, and the schedulers stepped at the interval each asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate
from torch import nn

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
