"""Preemption-safe training: a stop signal saves ``last.ckpt`` after the batch in progress and ends the run
as unfinished.

Clusters stop jobs with a signal: SIGTERM (SLURM preemption and ``scancel``, Kubernetes, a plain ``kill``),
SIGINT (Ctrl+C), or a warning signal some time before the time limit (SLURM ``--signal``; submitit's is
SIGUSR2). :class:`StopOnSignal` replaces the handlers of these signals while training, so that a signal
only raises a flag. At the end of every training batch the flag is reduced over the DDP ranks (one rank's
signal stops them all, at the same batch); on a stop ``trainer.save_checkpoint`` writes ``last.ckpt``
atomically (rank zero writes, every rank takes part) with the engine's counters, optimizers, schedulers
and the loop's position, and :class:`Preempted` ends the run. ``train.py`` then exits with status
``128 + signal number`` (143 after SIGTERM, 130 after Ctrl+C), the status of a process ended by that signal,
so schedulers and requeue scripts see an unfinished job; ``ckpt_path=last`` carries it on from that batch.

A signal at any other moment stops the run within seconds with the same exit status. ``train.py`` arms the
handlers (:meth:`StopOnSignal.arm`) before the data is set up, so a signal during data set-up, model building
or compilation ends the run at once (nothing trained in it, nothing to save; a resumed run's checkpoint is
intact). During a validation (the first one, ``validate_first``, or one between training batches) the
validation is abandoned at its next batch; inside training, the checkpoint of the last finished training batch
is written first, marked so that the resumed run runs that validation again, whole. Lightning's own SIGTERM
handler (``trainer.received_sigterm``) would end the run with status 0 and no checkpoint; it never gets the
signal while the handlers are armed. A second Ctrl+C interrupts at once (Lightning then exits with status 1,
no save).
A Python handler the signal had before training (e.g. submitit's, which requeues the SLURM job on its
warning signal) is given the signal by the entry point once the run is cleaned up
(:meth:`Preempted.hand_over`).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

# always handled; more come from ``signals`` (e.g. SLURM's warning signal)
STOP_SIGNALS = ("SIGTERM", "SIGINT")


class Preempted(Exception):
    """Training stopped on a signal after saving ``checkpoint``; the entry point exits with ``exit_code``.

    ``previous_handler``: the Python handler the signal had before training (None: none, or the default),
    which :meth:`hand_over` calls once the run is cleaned up (submitit's requeues the SLURM job and exits).
    """

    def __init__(
        self, signum: int, batches: int | None, checkpoint: str | None, previous_handler: Callable | None
    ):
        self.signum = signum
        self.exit_code = 128 + signum
        self.previous_handler = previous_handler
        saved = f"saved {checkpoint}" if checkpoint else "nothing trained since the start, nothing saved"
        where = "before training" if batches is None else f"after batch {batches}"
        super().__init__(
            f"{signal.Signals(signum).name} received: stopped {where}, {saved}; "
            f"exit status {self.exit_code}. Carry on with the same command and ckpt_path=last"
        )

    def hand_over(self) -> None:
        if self.previous_handler is not None:
            self.previous_handler(self.signum, None)


def _signal(name: str) -> signal.Signals:
    try:
        return signal.Signals[name if name.startswith("SIG") else f"SIG{name}"]
    except KeyError:
        raise ValueError(f"callbacks.preemption.signals: unknown signal {name!r}") from None


class StopOnSignal(L.Callback):
    """Stop training cleanly on SIGTERM, SIGINT and ``signals`` (names, e.g. ``[SIGUSR1]``).

    Contract: after a signal during training, the batch in progress finishes, ``checkpoint`` is written at
    that batch (all ranks stop at the same one) and :class:`Preempted` is raised on every rank. When that
    batch is followed by a validation or ends a pass over the data (a resumed run would skip those), the stop
    waits one more batch; when it ends the training, the run finishes as usual. During a validation the stop
    comes at its next batch: inside a fit, after writing ``checkpoint`` at the last finished training batch,
    marked so that the resumed run repeats the abandoned validation. Anywhere else (data set-up, building,
    between the first validation and training) :class:`Preempted` is raised from the handler itself.
    The handlers are in place from :meth:`arm` (else from the sanity check or training) to :meth:`disarm`
    (else the end of the fit); the earlier ones are restored then.
    """

    def __init__(self, checkpoint: str, signals: Sequence[str] = ()):
        self.checkpoint = checkpoint
        self.signals = [_signal(name) for name in dict.fromkeys([*STOP_SIGNALS, *signals])]
        self.received: int | None = None
        self._deferred = False
        self._previous: dict[int, Any] = {}
        self._armed = False
        # idle: nothing in flight worth finishing (stop at once); validating / training: stop at a boundary
        self._phase = "idle"
        self._abandoning_validation = False  # the checkpoint being written marks its validation to repeat

    # ----------------------------------------------------------------- handlers
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: stop now
        self.received = signum
        if self._phase == "idle":
            raise Preempted(signum, None, None, self._handed_over(signum))
        boundary = (
            "the batch in progress" if self._phase == "training" else "the validation batch in progress"
        )
        log.warning("%s received: stopping after %s", signal.Signals(signum).name, boundary)

    def arm(self) -> None:
        """Take the stop signals from now on (train.py: before the data is set up) until :meth:`disarm`."""
        self._previous = {signum: signal.getsignal(signum) for signum in self.signals}
        for signum in self.signals:
            signal.signal(signum, self._on_signal)
        self._armed = True

    def disarm(self) -> None:
        """Give the signals back to the handlers they had before :meth:`arm`."""
        self._armed = False
        self._restore()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self._armed:  # the handlers before Lightning registers its own (just before the loops start)
            self._previous = {signum: signal.getsignal(signum) for signum in self.signals}

    def _install(self, trainer: L.Trainer) -> None:
        if signal.getsignal(self.signals[0]) == self._on_signal:
            return
        for signum in self.signals:
            signal.signal(signum, self._on_signal)
        if trainer.received_sigterm and self.received is None:  # Lightning's handler came first
            self.received = signal.SIGTERM
        self._stop_if_signalled(trainer, save=False)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)
        self._phase = "validating"

    def on_sanity_check_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase = "idle"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)
        self._phase = "training"

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase = "idle"

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._phase = "validating"

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._phase = "training" if trainer.state.fn == "fit" else "idle"

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self._armed:
            self._restore()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, error: BaseException) -> None:
        if not self._armed:
            self._restore()

    # ----------------------------------------------------------------- the stop
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._stop_if_signalled(trainer, save=True)

    def on_validation_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._stop_in_validation(trainer)

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._stop_in_validation(trainer)

    def _stop_in_validation(self, trainer: L.Trainer) -> None:
        """Abandon a validation: inside a fit, after writing the checkpoint of the last finished training
        batch (its weights are what the validation measures), marked so that the resumed run repeats it."""
        if not trainer.strategy.reduce_boolean_decision(self.received is not None, all=False):
            return
        inside_fit = trainer.state.fn == "fit" and not trainer.sanity_checking
        self._abandoning_validation = inside_fit
        try:
            self._stop(trainer, save=inside_fit)
        finally:
            self._abandoning_validation = False

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        if self._abandoning_validation:
            repeat_validation(checkpoint)

    def _stop_if_signalled(self, trainer: L.Trainer, save: bool) -> None:
        """Every rank calls this at the same point; any rank's signal stops all of them."""
        if not trainer.strategy.reduce_boolean_decision(self.received is not None, all=False):
            return
        if save and trainer.should_stop:  # the budget is spent: the run finishes as usual
            return
        if save and _more_than_training_follows(trainer) and not self._deferred:
            self._deferred = True  # wait one batch, so that the resumed run repeats nothing and skips nothing
            return
        self._stop(trainer, save)

    def _stop(self, trainer: L.Trainer, save: bool) -> None:
        """Write ``checkpoint`` (when ``save``) and raise :class:`Preempted`, on every rank."""
        counters = getattr(trainer.lightning_module, "counters", None)
        batches = counters.batches if counters is not None else trainer.global_step
        if save:
            Path(self.checkpoint).parent.mkdir(parents=True, exist_ok=True)
            trainer.save_checkpoint(self.checkpoint)
        signum = self.received or signal.SIGTERM  # a rank stopped by another rank's signal reports SIGTERM
        raise Preempted(signum, batches, self.checkpoint if save else None, self._handed_over(signum))

    def _handed_over(self, signum: int) -> Callable | None:
        """The Python handler ``signum`` had before this callback's, to call once the run is cleaned up."""
        previous = self._previous.get(signum)
        return None if not callable(previous) or previous is signal.default_int_handler else previous


def repeat_validation(checkpoint: dict[str, Any]) -> None:
    """Mark a checkpoint written during a validation so that the resumed fit runs that validation again from
    its first batch: the validation loop's progress reads "restarted in the middle of an evaluation, none of
    it done", which Lightning's loops resume by running the evaluation (its own behaviour for a checkpoint
    written mid-validation, from the first batch instead of the next one)."""
    progress = checkpoint["loops"]["fit_loop"]["epoch_loop.val_loop.batch_progress"]
    before = progress["total"]["completed"] - progress["current"]["completed"]  # earlier validations' batches
    progress["total"] = {"ready": before + 1, "started": before + 1, "processed": before, "completed": before}
    progress["current"] = {"ready": 1, "started": 1, "processed": 0, "completed": 0}
    progress["is_last_batch"] = False


def _more_than_training_follows(trainer: L.Trainer) -> bool:
    """Whether the batch that just ended is followed by a validation or the end of a loader pass, rather than
    by the next training batch only."""
    loop = trainer.fit_loop.epoch_loop
    if loop.batch_progress.is_last_batch:
        return True
    every, epochs = trainer.val_check_batch, trainer.check_val_every_n_epoch
    if not trainer.enable_validation or not isinstance(every, int):
        return False
    if epochs is None:  # validation every `every` batches, counted across passes
        return (loop.total_batch_idx + 1) % every == 0
    return (trainer.current_epoch + 1) % epochs == 0 and (loop.batch_idx + 1) % every == 0
