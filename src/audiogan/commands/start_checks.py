"""Checks before a run trains: it would not overwrite another run's checkpoints, and online W&B logging has
an account to log to. Each fails at once in one line saying the ways on."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from omegaconf import DictConfig

from audiogan.errors import ConfigError

WANDB_LOGGER = "lightning.pytorch.loggers.WandbLogger"


def refuse_to_overwrite(output_dir: str | os.PathLike, overwrite: bool) -> None:
    """A fresh run in a run dir that already holds checkpoints would replace them: refused unless
    ``overwrite``. (Resuming, ``ckpt_path=...``, does not come here; neither does each DDP rank's start of a
    fresh run, since no rank writes a checkpoint before all of them have started.)"""
    held = sorted(path.name for path in (Path(output_dir) / "checkpoints").glob("*.ckpt"))
    if held and not overwrite:
        raise ConfigError(
            f"run dir {output_dir} already holds checkpoints ({', '.join(held)}), which a fresh run would "
            "replace: carry that run on with ckpt_path=last (or ckpt_path=<file>), give this run another dir "
            "(hydra.run.dir=...), or pass overwrite=true to replace them"
        )


def _wandb_key_known() -> bool:
    """Whether W&B can authenticate without asking: an API key in the environment or in ~/.netrc (where
    ``wandb login`` keeps it), or a mode that needs none."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE") in ("offline", "disabled", "dryrun"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def check_wandb_login(cfg: DictConfig) -> None:
    """Online W&B logging (``logger.wandb.offline=false``) without an account is refused before training."""
    for name, logger in (cfg.get("logger") or {}).items():
        online = logger and logger.get("_target_") == WANDB_LOGGER and not logger.get("offline", False)
        if online and not _wandb_key_known():
            raise ConfigError(
                f"logger.{name}.offline=false logs to W&B online, but no W&B account is logged in here: "
                "run `wandb login` (or set WANDB_API_KEY) first, or leave logger.wandb.offline at its "
                "default, true (offline logging needs no account; `wandb sync <run dir>/wandb/offline-run-*` "
                "uploads later)"
            )
