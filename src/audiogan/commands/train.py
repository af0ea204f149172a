"""Training entry point behind ``python train.py``: compose, check, build, fit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from audiogan.callbacks.preemption import StopOnSignal
from audiogan.commands.launch import check_launch
from audiogan.commands.start_checks import check_wandb_login, refuse_to_overwrite
from audiogan.runs.checkpoints import RunConfigInCheckpoints, init_from
from audiogan.runs.layouts import find_layout
from audiogan.runs.releases import init_from_release
from audiogan.runs.resume import resume_checkpoint
from audiogan.tasks.base import GANTask
from audiogan.tasks.build import task_from_config
from audiogan.utils.atomic_checkpoint import AtomicCheckpointIO
from audiogan.utils.config import check_model_data
from audiogan.utils.console import print_config_tree

log = logging.getLogger(__name__)


def _choice(group: str, default: str = "?") -> str:
    """The option chosen for a config group (``model=melgan`` -> "melgan"), when run under Hydra."""
    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get(group, default))
    return default


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    check_model_data(cfg.model, cfg.data, _choice("model"), _choice("data"))
    return instantiate(cfg.data, _recursive_=False, _convert_="all")


def build_task(cfg: DictConfig) -> GANTask:
    """The task of ``cfg.model.task`` (a config written for an earlier version too)."""
    return task_from_config(cfg.model.task)


def compile_networks(task: L.LightningModule, options: Mapping[str, Any]) -> None:
    """``compile=true``: torch.compile the generator and the discriminator(s) in place
    (``nn.Module.compile``), so parameter names, and with them checkpoints, stay as in an eager run."""
    for name in ("generator", "discriminator"):
        getattr(task, name).compile(**options)
    log.info("compiling generator and discriminator with torch.compile(%s)", dict(options))


def build_trainer(cfg: DictConfig, *extra_callbacks: L.Callback) -> L.Trainer:
    """The Trainer of ``cfg.trainer`` with the configured callbacks (plus ``extra_callbacks``) and loggers;
    the configured progress bar is left out when ``trainer.enable_progress_bar`` is false (Lightning
    refuses one then)."""
    callbacks = [instantiate(c) for c in cfg.get("callbacks", {}).values() if c] + list(extra_callbacks)
    if not cfg.trainer.get("enable_progress_bar", True):
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    loggers = [instantiate(c) for c in cfg.get("logger", {}).values() if c]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, plugins=[AtomicCheckpointIO()])


@rank_zero_only
def save_resolved_config(cfg: DictConfig, output_dir: str) -> None:
    path = Path(output_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))


def finish_loggers(trainer: L.Trainer) -> None:
    """Close W&B runs so each job of a multirun gets its own run."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()


def run(cfg: DictConfig) -> float | None:
    """Train one configuration; returns ``cfg.optimized_metric`` (for sweepers), or None."""
    check_launch(cfg)
    OmegaConf.resolve(cfg)
    ckpt_path = resume_checkpoint(cfg.ckpt_path, cfg.paths.output_dir)
    if ckpt_path is None:
        refuse_to_overwrite(cfg.paths.output_dir, cfg.get("overwrite", False))
    check_wandb_login(cfg)
    if cfg.get("print_config", True):
        print_config_tree(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    task = build_task(cfg)
    if cfg.get("init_from"):
        layout = find_layout(Path(cfg.init_from))
        if layout is not None:  # another project's release, e.g. jik876/hifi-gan's g_02500000
            init_from_release(task, Path(cfg.init_from), layout)
            log.info("initialised from %s, a %s release", cfg.init_from, layout.name)
        else:
            init_from(task, cfg.init_from)
            log.info("generator and discriminator initialised from %s", cfg.init_from)
    if cfg.get("compile"):
        compile_networks(task, cfg.compile_options)
    trainer = build_trainer(cfg, RunConfigInCheckpoints(cfg))
    stop = next((c for c in trainer.callbacks if isinstance(c, StopOnSignal)), None)
    if stop is not None:
        stop.arm()  # from here on a stop signal ends the run cleanly (data set-up and validate_first too)
    save_resolved_config(cfg, cfg.paths.output_dir)
    for logger in trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg))
    try:
        if ckpt_path is None and cfg.get("validate_first"):
            trainer.validate(task, datamodule=datamodule, verbose=False)  # the untrained scores, at batch 0
            trainer.num_sanity_val_steps = 0  # that validation was the sanity check
        trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path)
        if cfg.get("test_after_fit"):
            trainer.test(task, datamodule=datamodule, ckpt_path="best")
    finally:
        if stop is not None:
            stop.disarm()
        finish_loggers(trainer)
    metric: Any = (
        trainer.callback_metrics.get(cfg.get("optimized_metric")) if cfg.get("optimized_metric") else None
    )
    log.info("run dir: %s", cfg.paths.output_dir)
    return float(metric) if metric is not None else None
