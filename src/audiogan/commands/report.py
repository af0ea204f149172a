"""The listening report (``report.py``, ``audiogan-report``): runs, their metric curves and their held-out
clips on one offline page, runs side by side or shuffled and hidden for a blind test; blind answers read back
as preferences per run."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from audiogan.report.answers import preference_table, preferences
from audiogan.report.collect import collect
from audiogan.report.page import ReportWriter

log = logging.getLogger("audiogan")


def run(cfg: DictConfig) -> Path | None:
    """``answers=[...]``: print the preferences table of those answers files; else write the report of
    ``runs`` into ``output_dir`` and return its index.html."""
    if cfg.answers:
        print(preference_table(preferences(_paths(cfg.answers), cfg.key)))
        return None
    runs = collect(_paths(cfg.runs), cfg.checkpoint, cfg.clips)
    writer = ReportWriter(runs, cfg.output_dir, cfg.checkpoint)
    page = writer.write_blind(int(cfg.seed)) if cfg.blind else writer.write()
    log.info("report written to %s", page)
    return page


def _paths(value) -> list[str]:
    """A list option given as a list or as one path (``runs=a`` as ``runs=[a]``)."""
    if value is None or isinstance(value, str):
        return [value] if value else []
    return [str(path) for path in OmegaConf.to_container(value)]
