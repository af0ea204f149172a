"""The resolvers every command's config uses, and composing a config outside a command as a command would."""

from __future__ import annotations

import uuid
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from audiogan.runs.resume import previous_wandb_id, run_dir_name


def register_resolvers() -> None:
    """``${run_id:}`` is a short random id, cached per config, so run dirs never collide; ``${run_dir:...}``
    picks a run's dir (``audiogan.runs.resume``: a new one, or the one ``ckpt_path=last`` carries on);
    ``${wandb_id:...}`` and ``${wandb_group:...}`` name the W&B run (see conf/logger/wandb.yaml)."""
    if not OmegaConf.has_resolver("run_id"):
        OmegaConf.register_new_resolver("run_id", lambda: uuid.uuid4().hex[:6], use_cache=True)
    if not OmegaConf.has_resolver("run_dir"):
        OmegaConf.register_new_resolver("run_dir", run_dir_name)
    if not OmegaConf.has_resolver("wandb_id"):
        OmegaConf.register_new_resolver("wandb_id", previous_wandb_id)
    if not OmegaConf.has_resolver("wandb_group"):
        OmegaConf.register_new_resolver("wandb_group", wandb_group)


def wandb_group(family: str) -> str:
    """W&B group of a run: its family, or ``<family>-<sweep dir name>`` for each job of one multirun."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return f"{family}-{Path(HydraConfig.get().sweep.dir).name}"
    return family


def compose_config(config_dir: str, overrides: list[str], name: str = "train") -> DictConfig:
    """Compose a config outside a command (tests, benchmarks, a release's config) so that it resolves as
    under the command.

    HydraConfig is set, so ``${hydra:runtime.choices.*}`` resolves; the ``hydra`` node itself is dropped.
    Inside a running command (``audiogan-import`` composing a release's config) the command's own Hydra
    state is put back afterwards, so the config is returned resolved against its own.
    """
    register_resolvers()
    hydra, running = GlobalHydra.instance(), GlobalHydra.instance().is_initialized()
    saved = (hydra.hydra, HydraConfig.instance().cfg)
    if running:
        hydra.clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(name, overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
        if running:
            OmegaConf.resolve(cfg)
    finally:
        if running:
            GlobalHydra.instance().hydra, HydraConfig.instance().cfg = saved
    return cfg
