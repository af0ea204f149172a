"""What a run carries over a checkpoint besides weights and optimizers: the engine's counters, the seconds
trained, and the global random generators' states, so a resumed run continues exactly as the uninterrupted
one (the same batches, the same random draws, the same weights)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from audiogan.tasks.schedule import Counters
from audiogan.utils.rng import rng_states, set_rng_states


class ResumableState:
    """Checkpoint hooks of :class:`audiogan.tasks.base.GANTask` (which creates ``counters``, ``schedule``,
    ``_seconds_before``, ``_fit_started`` and ``_rng_to_restore``)."""

    def elapsed_seconds(self) -> float:
        """Wall-clock seconds this run has trained so far, earlier runs it resumed from included."""
        if self._fit_started is None:
            return self._seconds_before
        return self._seconds_before + time.monotonic() - self._fit_started

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["gan_engine"] = {
            "counters": asdict(self.counters),
            "schedule": asdict(self.schedule),
            "seconds": self.elapsed_seconds(),
            "rng": rng_states(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("gan_engine")
        if state is not None:
            self.counters = Counters(**state["counters"])
            self._seconds_before = state.get("seconds", 0.0)
            self._rng_to_restore = state.get("rng")  # checkpoints of 0.1 hold none

    def on_train_batch_start(self, batch, batch_idx) -> None:
        """The first batch after a resume draws from the generators as the uninterrupted run would have: their
        states are restored here, after whatever the resume itself drew (sanity validation, loaders)."""
        if self._rng_to_restore is not None:
            set_rng_states(self._rng_to_restore)
            self._rng_to_restore = None
