"""Where a run lives, and ``ckpt_path=last``: carry on the newest run of the same command in its own dir.

Hydra names the run dir before the app starts, so the choice is made by a resolver in
``conf/hydra/default.yaml``: a fresh ``<time>_<id>``, or, with ``ckpt_path=last``, the newest earlier run
whose command-line overrides were the same (``ckpt_path`` aside) and that saved a ``last.ckpt``. The run
then continues there: same checkpoints, CSV / TensorBoard / W&B logs and ``train.log``. With nothing to
carry on, it starts fresh, so a preempted job can be requeued with one fixed command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from omegaconf import OmegaConf

from audiogan.errors import DamagedCheckpointError

log = logging.getLogger(__name__)

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
HYDRA_OVERRIDES = Path(".hydra") / "overrides.yaml"


def _comparable(overrides: Iterable[str]) -> list[str]:
    """A command's overrides, order and ``ckpt_path`` aside."""
    return sorted(o for o in overrides if not o.lstrip("+~").startswith("ckpt_path="))


def run_dir_name(runs: str, new_name: str, ckpt_path: str | None, overrides: Iterable[str]) -> str:
    """The run dir under ``runs``: the newest matching earlier run for ``ckpt_path=last``, else ``new_name``.

    Ranks started by torchrun each compose the config themselves; they share the launch's rendezvous id
    (``TORCHELASTIC_RUN_ID``), which names the run so that all of them write to one dir.
    """
    if ckpt_path == LAST:
        wanted = _comparable(overrides)
        candidates = sorted(Path(runs).glob(f"*/{HYDRA_OVERRIDES}"), key=lambda p: p.parent.parent.name)
        for saved in reversed(candidates):
            run = saved.parent.parent
            if (run / LAST_CHECKPOINT).is_file() and _comparable(OmegaConf.load(saved)) == wanted:
                return str(run)
    elastic_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if elastic_id and elastic_id != "none":
        return str(Path(runs) / f"torchrun_{elastic_id}")
    return str(Path(runs) / new_name)


def resume_checkpoint(ckpt_path: str | None, output_dir: str) -> str | None:
    """``ckpt_path`` for ``Trainer.fit``, checked readable first (a damaged file is refused by name).

    ``last`` becomes this run dir's newest intact checkpoint: ``last.ckpt``, or when that is damaged (with a
    warning) the newest other ``*.ckpt`` of the run; None when the run has none yet (a fresh start). Temp
    files of a save that was killed midway are removed first.
    """
    from audiogan.runs.checkpoints import read_checkpoint  # (imports this module)

    if ckpt_path != LAST:
        if ckpt_path is not None:
            read_checkpoint(ckpt_path)
        return ckpt_path
    last = Path(output_dir) / LAST_CHECKPOINT
    if not last.is_file():
        log.warning("ckpt_path=last: no earlier run of this command has %s; starting fresh", LAST_CHECKPOINT)
        return None
    for stale in last.parent.glob(".*.tmp"):
        log.warning("removing %s, left by a save that was interrupted", stale)
        stale.unlink(missing_ok=True)  # another DDP rank may have removed it already
    others = sorted(set(last.parent.glob("*.ckpt")) - {last}, key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in [last, *others]:
        try:
            read_checkpoint(candidate)
        except DamagedCheckpointError as err:
            log.warning("ckpt_path=last: skipping %s", err)
            continue
        log.info("ckpt_path=last: resuming %s", candidate)
        return str(candidate)
    raise DamagedCheckpointError(f"ckpt_path=last: no intact checkpoint in {last.parent}")


def previous_wandb_id(output_dir: str) -> str | None:
    """The id of the W&B run an earlier launch logged in this run dir (``wandb/[offline-]run-<time>-<id>``),
    so a run carried on with ``ckpt_path=last`` keeps logging to the same W&B run; None in a new run dir."""
    runs = sorted(Path(output_dir).glob("wandb/*run-*-*"), key=lambda p: p.name.split("run-", 1)[1])
    return runs[-1].name.rsplit("-", 1)[1] if runs else None
