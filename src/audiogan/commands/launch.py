"""Start-up check of how a run was launched: refuse combinations that would run somewhere else than asked
or start every DDP rank as a sweep of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig

from audiogan.errors import ConfigError

# the one launcher whose jobs get their DDP ranks from outside: srun starts one task per device
SLURM_LAUNCHER = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"


def starts_ranks(trainer: Mapping[str, Any]) -> bool:
    """Whether Lightning would start processes of its own: a ddp strategy over several devices or nodes."""
    devices = trainer.get("devices", 1)
    one_device = devices in (1, "1") or (isinstance(devices, (list, ListConfig)) and len(devices) == 1)
    ddp = "ddp" in str(trainer.get("strategy", "")).lower()
    return ddp and not (one_device and trainer.get("num_nodes", 1) == 1)


def check_launch(cfg: DictConfig) -> None:
    """Fail before training when the launch cannot do what was asked.

    Hydra ignores launchers outside multiruns, so ``launcher=slurm`` without ``-m`` would train on this
    machine. Under ``-m`` Lightning's DDP starts ranks 1..N-1 by re-running this process's command line, i.e.
    the whole sweep: each rank runs a sweep of its own (its own sweep dir; with Optuna its own study, whose
    trials can differ between ranks). SLURM jobs are fine: srun starts the ranks and Lightning starts none.
    """
    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    launcher = hydra_cfg.runtime.choices.get("launcher")
    if launcher and not multirun:
        raise ConfigError(
            f"launcher={launcher} only applies to multiruns, without -m this run would train here; "
            f"add -m: python train.py -m launcher={launcher} ..."
        )
    if multirun and starts_ranks(cfg.trainer) and hydra_cfg.launcher.get("_target_") != SLURM_LAUNCHER:
        current = hydra_cfg.runtime.choices.get("hydra/launcher")
        raise ConfigError(
            f"a multirun (-m) cannot train with DDP (trainer.strategy={cfg.trainer.strategy}, "
            f"trainer.devices={cfg.trainer.devices}) under the {current} launcher: Lightning would start "
            "each extra rank by re-running the whole sweep. Use launcher=slurm (one SLURM task per GPU, "
            "hydra.launcher.gpus_per_node=N), or run each configuration as its own command without -m "
            "(python train.py trainer=ddp ..., or torchrun --nproc_per_node=N train.py trainer=ddp ...), "
            "or a one-device trainer"
        )
