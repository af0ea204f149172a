"""``audiogan-import path=... [config=...] out=...``: another project's release as an audiogan checkpoint
(:mod:`audiogan.runs.imports`)."""

from __future__ import annotations

from omegaconf import DictConfig

from audiogan.errors import ConfigError
from audiogan.runs.imports import import_release


def run(cfg: DictConfig) -> None:
    for key in ("path", "out"):
        if not cfg.get(key):
            raise ConfigError(
                f"{key}= is missing: audiogan-import path=<release file or folder> out=<file.ckpt> "
                "[config=<its config file>]"
            )
    import_release(cfg.path, cfg.out, cfg.get("config"), list(cfg.get("overrides") or ()))
