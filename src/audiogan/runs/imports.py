"""``audiogan-import``: another project's released model written as a self-contained audiogan checkpoint.

The checkpoint is what ``train.py`` writes: weights, the family's constructor arguments and the run's config,
optimizer and scheduler states, the engine's counters and Lightning's loop positions. So every command opens
it, ``init_from=`` fine-tunes from it, and ``ckpt_path=`` goes on with the released run where it stopped
(the same step, epoch, optimizer moments and learning rate), when the release holds its training state.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf
from torch import nn
from torch.optim import lr_scheduler

from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import RUN_CONFIG_KEY
from audiogan.runs.releases import read_release, release_config, task_from_release
from audiogan.tasks.base import GANTask
from audiogan.tasks.optimizers import NETWORKS, build_optimizers
from audiogan.tasks.release import Release, TrainingState
from audiogan.utils.files import atomic_write

log = logging.getLogger(__name__)


def import_release(
    path: str | os.PathLike,
    out: str | os.PathLike,
    config: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
    config_dirs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Read the release at ``path`` (with its ``config`` where the project keeps it apart) and write it to
    ``out`` as an audiogan checkpoint; returns ``out``. ``overrides`` (config overrides, as on the command
    line) follow the release's own, e.g. for what its files do not say. What the reader assumed is logged,
    one line each, and so are the train.py commands that fine-tune it and go on with its run."""
    release = read_release(path, config, config_dirs)
    overrides = list(overrides)
    cfg = release_config(release, config_dirs, overrides)
    task = task_from_release(release, config_dirs, cfg)
    checkpoint = release_checkpoint(task, release)
    checkpoint[RUN_CONFIG_KEY] = OmegaConf.to_container(cfg, resolve=True)
    out = Path(out)
    with atomic_write(out) as tmp:
        torch.save(checkpoint, tmp)
    command = " ".join([f"model={release.family}", *release.overrides, *overrides])
    log.info("wrote %s; fine-tune: python train.py %s init_from=%s", out, command, out)
    if release.training is not None:
        log.info("go on with the released run: python train.py %s ckpt_path=%s", command, out)
    return out


def release_checkpoint(task: GANTask, release: Release) -> dict[str, Any]:
    """The checkpoint ``train.py`` would have written for ``task`` (weights already loaded) at the point where
    the released run stopped: ``release.training``, or before the first batch when it has none."""
    training = release.training or TrainingState(batches=0, epoch=0, optimizers={})
    counters = task.schedule.counters_after(training.batches)
    task.counters = counters
    optimizers, schedulers = _optimizers_at(task, training)
    checkpoint: dict[str, Any] = {
        "epoch": training.epoch,
        "global_step": counters.d_updates + counters.g_updates,
        "pytorch-lightning_version": L.__version__,
        "state_dict": task.state_dict(),
        "loops": lightning_loops(training.batches, training.epoch, counters.d_updates + counters.g_updates),
        "callbacks": {},
        "optimizer_states": [optimizer.state_dict() for optimizer in optimizers],
        "lr_schedulers": [scheduler.state_dict() for scheduler in schedulers],
        "hparams_name": "kwargs",
        "hyper_parameters": dict(task.hparams),
    }
    task.on_save_checkpoint(checkpoint)
    checkpoint["gan_engine"]["rng"] = None  # the released run's random state is not known
    checkpoint["gan_engine"]["seconds"] = 0.0
    return checkpoint


# torch's schedulers whose step(epoch) sets the rate of any step at once (their closed form)
CLOSED_FORM = (
    lr_scheduler.ExponentialLR,
    lr_scheduler.StepLR,
    lr_scheduler.MultiStepLR,
    lr_scheduler.CosineAnnealingLR,
)


def _optimizers_at(task: GANTask, training: TrainingState) -> tuple[list, list]:
    """The task's optimizers holding the released moments (matched by parameter name) and its schedulers
    stepped ``training.scheduler_steps`` times, learning rates with them: at once where the scheduler has a
    closed form (a released run's millions of per-batch steps), else one step at a time."""
    networks = {name: getattr(task, name) for name in NETWORKS}
    optimizers, schedulers, _ = build_optimizers(networks, task.optim_cfg, task.scheduler_cfg)
    for name, optimizer in zip(NETWORKS, optimizers, strict=True):
        if name in training.optimizers:
            _load_by_name(optimizer, networks[name], training.optimizers[name], name)
    steps = training.scheduler_steps or 0
    with warnings.catch_warnings():  # stepping a scheduler with no optimizer step is the point here
        warnings.simplefilter("ignore", UserWarning)
        for scheduler in schedulers:
            if steps and isinstance(scheduler, CLOSED_FORM):
                # step(epoch), deprecated but kept: last_epoch = steps and the closed form's rates
                scheduler.step(steps)
                continue
            for _ in range(steps):
                scheduler.step()
    return optimizers, schedulers


def _load_by_name(optimizer: torch.optim.Optimizer, network: nn.Module, held: dict[str, Any], name: str):
    """Load the per-parameter ``held["state"]`` (keyed by parameter name) into ``optimizer``, built over
    ``network.parameters()``; a name the network lacks, or moments of another shape, stop naming it."""
    names = [n for n, _ in network.named_parameters()]
    shapes = {n: p.shape for n, p in network.named_parameters()}
    unknown = sorted(set(held["state"]) - set(names))
    if unknown:
        raise ConfigError(f"optimizer state of {name} parameters this network lacks: {unknown[:3]}")
    for key, state in held["state"].items():
        moment = state.get("exp_avg")
        if moment is not None and moment.shape != shapes[key]:
            raise ConfigError(
                f"optimizer state of {name}.{key} has shape {tuple(moment.shape)}; the parameter "
                f"{tuple(shapes[key])}"
            )
    ours = optimizer.state_dict()
    state = {names.index(key): value for key, value in held["state"].items()}
    optimizer.load_state_dict({"state": state, "param_groups": ours["param_groups"]})


def lightning_loops(batches: int, epoch: int, optimizer_steps: int) -> dict[str, Any]:
    """Lightning's ``loops`` checkpoint entry for a fit that has trained ``batches`` batches with
    ``optimizer_steps`` optimizer steps (its ``global_step``) and starts epoch ``epoch`` at its start."""

    def progress(done: int, *fields: str) -> dict[str, int]:
        return dict.fromkeys(("ready", *fields, "completed"), done)

    def tracked(total: int, current: int, *fields: str) -> dict[str, dict[str, int]]:
        return {"total": progress(total, *fields), "current": progress(current, *fields)}

    no_steps, no_batches = tracked(0, 0), {**tracked(0, 0, "started", "processed"), "is_last_batch": False}
    return {
        "fit_loop": {
            "state_dict": {},
            "epoch_loop.state_dict": {"_batches_that_stepped": batches},
            "epoch_loop.batch_progress": {
                **tracked(batches, 0, "started", "processed"),
                "is_last_batch": False,
            },
            "epoch_loop.scheduler_progress": no_steps,
            "epoch_loop.automatic_optimization.state_dict": {},
            "epoch_loop.automatic_optimization.optim_progress": {
                "optimizer": {"step": no_steps, "zero_grad": tracked(0, 0, "started")}
            },
            "epoch_loop.manual_optimization.state_dict": {},
            "epoch_loop.manual_optimization.optim_step_progress": tracked(optimizer_steps, 0),
            "epoch_loop.val_loop.state_dict": {},
            "epoch_loop.val_loop.batch_progress": no_batches,
            "epoch_progress": tracked(epoch, epoch, "started", "processed"),
        },
        "validate_loop": {"state_dict": {}, "batch_progress": no_batches},
        "test_loop": {"state_dict": {}, "batch_progress": no_batches},
        "predict_loop": {"state_dict": {}, "batch_progress": tracked(0, 0, "started", "processed")},
    }
