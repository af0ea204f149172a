"""A stop signal at any moment ends the run within seconds with status 128 + the signal: before training at
once, during a validation at its next batch. An abandoned validation inside a fit leaves the checkpoint of the
last finished training batch, and the resumed run repeats that validation and ends where an uninterrupted run
ends."""

from __future__ import annotations

import csv
import os
import signal

import lightning as L
import pytest
import torch
from conftest import smoke
from omegaconf import open_dict

from audiogan.callbacks.preemption import Preempted, StopOnSignal
from audiogan.commands.train import run

pytestmark = pytest.mark.slow  # each test trains the toy family


class SendSignal(L.Callback):
    """Sends SIGTERM to this process at the first batch of validation number ``validation`` (0: the first,
    counting validate_first), as a scheduler would at that moment."""

    def __init__(self, validation: int):
        self.validation, self.seen = validation, -1

    def on_validation_start(self, trainer, pl_module):
        self.seen += 1

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if self.seen == self.validation and batch_idx == 0:
            os.kill(os.getpid(), signal.SIGTERM)


def toy_cfg(compose_cfg, *overrides, signal_at: int | None = None):
    cfg = compose_cfg(
        *smoke("toy"), "model.task.schedule.max_batches=4", "trainer.val_check_interval=2", *overrides
    )
    if signal_at is not None:
        with open_dict(cfg):
            cfg.callbacks.send_signal = {"_target_": "test_signals.SendSignal", "validation": signal_at}
    return cfg


def validated_at(run_dir) -> list[int]:
    """The batches at which the run's validations were logged (none yet: no metrics file)."""
    if not (run_dir / "csv" / "metrics.csv").is_file():
        return []
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return [
            int(float(row["progress/batches"])) for row in csv.DictReader(handle) if row["progress/batches"]
        ]


def test_a_signal_during_the_first_validation_stops_the_fresh_run_at_once(compose_cfg, tmp_path):
    with pytest.raises(Preempted, match=r"SIGTERM received: stopped after batch 0, nothing .* saved") as stop:
        run(toy_cfg(compose_cfg, "validate_first=true", signal_at=0))
    assert stop.value.exit_code == 143
    assert not list((tmp_path / "run").rglob("*.ckpt")) and not list((tmp_path / "run").rglob("*.tmp"))
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are given back


def test_an_abandoned_validation_is_repeated_and_the_run_ends_as_if_never_stopped(
    compose_cfg, tmp_path, monkeypatch
):
    monkeypatch.setenv(
        "AUDIOGAN_TRUSTED_TARGETS", "toy_family,test_signals"
    )  # SendSignal is in the run config
    straight = toy_cfg(compose_cfg)
    with open_dict(straight):
        straight.paths.output_dir = str(tmp_path / "straight")
    run(straight)
    with pytest.raises(Preempted, match="stopped after batch 2, saved .*last.ckpt") as stop:
        run(toy_cfg(compose_cfg, signal_at=0))  # the validation after batch 2
    assert stop.value.exit_code == 143
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["gan_engine"]["counters"]["batches"] == 2
    assert validated_at(tmp_path / "run") == []  # abandoned before it logged anything
    run(toy_cfg(compose_cfg, f"ckpt_path={checkpoint}"))
    assert validated_at(tmp_path / "run") == [2, 4]  # batch 2's validation again, then batch 4's
    ours = torch.load(checkpoint, weights_only=True)
    theirs = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ours["gan_engine"]["counters"] == theirs["gan_engine"]["counters"]
    for key, value in theirs["state_dict"].items():
        assert torch.equal(value, ours["state_dict"][key]), key


def test_a_signal_outside_the_loops_stops_at_once_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    stop = StopOnSignal("unused.ckpt")
    stop.arm()
    try:
        with pytest.raises(Preempted, match="SIGTERM received: stopped before training, nothing"):
            signal.raise_signal(signal.SIGTERM)  # e.g. while the data is set up
    finally:
        stop.disarm()
    assert signal.getsignal(signal.SIGTERM) == before
