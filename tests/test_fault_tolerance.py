"""Runs killed with SIGKILL carry on from their last checkpoint (``ckpt_path=last``), counters intact; runs
stopped by SIGTERM save at the batch they stopped at, exit as unfinished and carry on exactly."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, TINY_MELGAN, cli_env, run_in_process
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

from audiogan.callbacks.preemption import Preempted, StopOnSignal
from audiogan.runs.resume import resume_checkpoint, run_dir_name

BUDGET, EVERY = 24, 3
# one fixed command, relaunched after every kill as a requeued cluster job would be (the last launch, which
# finishes the run, in this process: run_in_process); no sample audio or images at the validations
COMMAND = [
    *TINY_MELGAN,
    f"model.task.schedule.max_batches={BUDGET}",
    f"trainer.val_check_interval={EVERY}",
    "callbacks.samples=null",
    "ckpt_path=last",
]


def _checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)


def _saved(run_dirs: list[Path]) -> dict | None:
    """The engine counters and global step in the (only) run's last.ckpt, if it has one yet."""
    assert len(run_dirs) <= 1, run_dirs  # every launch carries on in the same run dir
    last = run_dirs[0] / "checkpoints" / "last.ckpt" if run_dirs else None
    if last is None or not last.is_file():
        return None
    checkpoint = torch.load(last, weights_only=False)  # a half-written file would fail to load here
    return {**checkpoint["gan_engine"]["counters"], "global_step": checkpoint["global_step"]}


def _launched_until_first_checkpoint(
    command: list[str], data_dir: Path, log_dir: Path, **streams
) -> subprocess.Popen:
    """``train.py command`` in a process of its own, returned once its run has written a last.ckpt."""
    runs = log_dir / "melgan" / "runs"
    process = subprocess.Popen(
        [sys.executable, "train.py", *command], cwd=ROOT, env=cli_env(data_dir, log_dir), **streams
    )
    deadline = time.monotonic() + 120
    while not list(runs.glob("*/checkpoints/last.ckpt")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read()[-3000:] if process.stdout else ""
            pytest.fail(f"no checkpoint within 120 s, or the run ended before one: {output}")
        time.sleep(0.05)
    return process


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_resume_keeps_the_counters(data_dir, tmp_path):
    runs = tmp_path / "melgan" / "runs"

    def run_dirs() -> list[Path]:
        return sorted(runs.glob("*")) if runs.exists() else []

    process = _launched_until_first_checkpoint(
        COMMAND, data_dir, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(random.Random(0).uniform(0.0, 1.5))  # into training, validation or a save
    finally:
        process.kill()
        process.wait()
    saved = _saved(run_dirs())
    assert saved["batches"] % EVERY == 0 and 0 < saved["batches"] < BUDGET
    # one D and one G update per batch, counted alike by the engine and by Lightning
    assert saved["d_updates"] == saved["g_updates"] == saved["batches"]
    assert saved["global_step"] == 2 * saved["batches"]

    result = run_in_process("train.py", *COMMAND, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"resuming {run_dirs()[0]}" in result.stdout
    final = _saved(run_dirs())
    assert final == {
        "batches": BUDGET,
        "d_updates": BUDGET,
        "g_updates": BUDGET,
        "d_skipped": 0,
        "global_step": 2 * BUDGET,
    }
    assert not list(run_dirs()[0].glob("checkpoints/.*.tmp"))


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def _stop_with_sigterm(command: list[str], data_dir: Path, log_dir: Path) -> tuple[int, str, Path, int]:
    """Start ``train.py command`` and SIGTERM the launched process alone once its first checkpoint is written:
    (exit status, output, run dir, how many processes it had started, e.g. DDP ranks, all ended by then)."""
    runs = log_dir / "melgan" / "runs"
    process = _launched_until_first_checkpoint(
        command, data_dir, log_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        children = [
            int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        ]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    deadline = time.monotonic() + 20  # the processes it started end too, none is left waiting in a collective
    while any(_running(pid) for pid in children):
        assert time.monotonic() < deadline, f"processes {children} outlived the stopped run by 20 s"
        time.sleep(0.1)
    (run,) = runs.iterdir()
    return process.returncode, output, run, len(children)


def _stopped_at(output: str, processes: int) -> int:
    """The batch every one of ``processes`` processes says it stopped at (the same for all)."""
    stops = re.findall(
        r"SIGTERM received: stopped after batch (\d+), saved \S+last\.ckpt; exit status 143", output
    )
    assert len(stops) == processes and len(set(stops)) == 1, (stops, output[-3000:])
    return int(stops[0])


def _assert_same_training(resumed: dict, uninterrupted: dict) -> None:
    """Equal counters, weights and optimizer states."""
    assert resumed["gan_engine"]["counters"] == uninterrupted["gan_engine"]["counters"]
    assert resumed["global_step"] == uninterrupted["global_step"]
    assert resumed["state_dict"].keys() == uninterrupted["state_dict"].keys()
    for name, weights in uninterrupted["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], weights), name
    for resumed_opt, opt in zip(resumed["optimizer_states"], uninterrupted["optimizer_states"], strict=True):
        for key, state in opt["state"].items():
            for name, value in state.items():
                assert torch.equal(resumed_opt["state"][key][name], value), (key, name)


def _sigterm_command(budget: int, every: int, extra: list[str]) -> list[str]:
    """A run of ``budget`` batches validating every ``every`` (long enough for a signal at the first
    checkpoint to land before its end), carried on by ckpt_path=last when started again."""
    return [
        *TINY_MELGAN,
        f"model.task.schedule.max_batches={budget}",
        f"trainer.val_check_interval={every}",
        # no sample audio or images at the validations (most of their time; the sample logger draws nothing)
        "callbacks.samples=null",
        *extra,
        "ckpt_path=last",
    ]


def _stop_and_check(
    command: list[str], every: int, budget: int, data_dir: Path, log_dir: Path
) -> tuple[Path, int]:
    """SIGTERM ``train.py command`` at its first checkpoint and check what it left: exit status 143, every
    process stopped after one batch, that batch's counters saved, no temp file. (run dir, processes the
    stopped run had started)."""
    returncode, output, run, started = _stop_with_sigterm(command, data_dir, log_dir)
    assert returncode == 143, output[-3000:]
    batches = _stopped_at(output, 1 + started)
    assert every <= batches < budget
    stopped = _checkpoint(run)
    assert stopped["gan_engine"]["counters"] == {
        "batches": batches,
        "d_updates": batches,
        "g_updates": batches,
        "d_skipped": 0,
    }
    assert stopped["global_step"] == 2 * batches
    assert not list(run.glob("checkpoints/.*.tmp"))
    return run, started


@pytest.mark.slow
def test_sigterm_saves_its_batch_exits_143_and_resumes_as_if_never_stopped(data_dir, tmp_path):
    command = _sigterm_command(20, 5, [])
    run, _ = _stop_and_check(command, 5, 20, data_dir, tmp_path / "stopped")
    result = run_in_process("train.py", *command, data_dir=data_dir, log_dir=tmp_path / "stopped")
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"resuming {run}" in result.stdout
    result = run_in_process("train.py", *command, data_dir=data_dir, log_dir=tmp_path / "uninterrupted")
    assert result.returncode == 0, result.stdout[-3000:]
    (uninterrupted,) = (tmp_path / "uninterrupted" / "melgan" / "runs").iterdir()
    _assert_same_training(_checkpoint(run), _checkpoint(uninterrupted))
    assert _checkpoint(run)["gan_engine"]["counters"]["batches"] == 20


@pytest.mark.slow
def test_sigterm_to_the_ddp_launcher_stops_every_rank_at_one_batch(data_dir, tmp_path):
    # rank 0 alone is signalled; rank 1, which train.py's launcher started, stops at the same batch and ends
    # too. (A DDP run resumed as if never stopped: test_specgan_task; resuming a SIGTERM-stopped run: above.)
    _, started = _stop_and_check(_sigterm_command(20, 5, ["trainer=ddp_cpu"]), 5, 20, data_dir, tmp_path)
    assert started == 1


@pytest.mark.slow
def test_last_starts_fresh_when_no_run_of_the_command_exists(data_dir, tmp_path):
    short = [*TINY_MELGAN, "model.task.schedule.max_batches=2", "trainer.val_check_interval=2"]
    result = run_in_process("train.py", *short, "ckpt_path=last", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no earlier run of this command" in result.stdout
    # a different command (another loss) does not carry on that run
    result = run_in_process(
        "train.py", *short, "loss=hinge", "ckpt_path=last", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no earlier run of this command" in result.stdout
    assert len(list((tmp_path / "melgan" / "runs").iterdir())) == 2


def _earlier_run(runs: Path, name: str, overrides: list[str], checkpoint: bool = True) -> Path:
    run = runs / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if checkpoint:
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return run


def test_last_picks_the_newest_run_of_the_same_overrides_that_has_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    command = ["loss=hinge", "model.batch_size=2"]
    _earlier_run(tmp_path, "2026-01-01_00-00-00_aaaaaa", command)
    match = _earlier_run(tmp_path, "2026-01-02_00-00-00_bbbbbb", [*reversed(command), "ckpt_path=last"])
    _earlier_run(tmp_path, "2026-01-03_00-00-00_cccccc", command, checkpoint=False)  # killed before a save
    _earlier_run(tmp_path, "2026-01-04_00-00-00_dddddd", ["loss=lsgan", "model.batch_size=2"])
    assert run_dir_name(str(tmp_path), "new", "last", [*command, "ckpt_path=last"]) == str(match)
    assert run_dir_name(str(tmp_path), "new", None, command) == str(tmp_path / "new")
    assert run_dir_name(str(tmp_path), "new", "last", ["loss=wgan"]) == str(tmp_path / "new")


def test_torchrun_ranks_share_one_run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job42")
    name = run_dir_name(str(tmp_path), "2026-01-01_00-00-00_abcdef", None, [])
    assert name == str(tmp_path / "torchrun_job42")


def test_resuming_removes_temp_files_of_an_interrupted_save(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    torch.save({"state_dict": {}}, checkpoints / "last.ckpt")
    (checkpoints / ".last.ckpt.k2j3.tmp").write_bytes(b"half")
    assert resume_checkpoint("last", str(tmp_path)) == str(checkpoints / "last.ckpt")
    assert [p.name for p in checkpoints.iterdir()] == ["last.ckpt"]
    assert resume_checkpoint(str(checkpoints / "last.ckpt"), str(tmp_path)) == str(checkpoints / "last.ckpt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found: some/file.ckpt"):
        resume_checkpoint("some/file.ckpt", str(tmp_path))


class _Trainer(SimpleNamespace):
    """What StopOnSignal reads of a single-process trainer before its first batch."""

    def __init__(self):
        strategy = SimpleNamespace(reduce_boolean_decision=lambda decision, all: decision)
        super().__init__(received_sigterm=False, strategy=strategy, lightning_module=None, global_step=0)


def test_stop_signals_raise_a_flag_and_the_earlier_handler_gets_the_signal_after_the_stop():
    received = []
    earlier = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        callback = StopOnSignal("unused.ckpt", signals=["SIGUSR1"])
        trainer = _Trainer()
        callback.setup(trainer, None, "fit")
        callback.on_train_start(trainer, None)  # nothing received yet: training goes on
        signal.raise_signal(signal.SIGUSR1)
        assert callback.received == signal.SIGUSR1 and not received  # only a flag while training
        with pytest.raises(Preempted, match="SIGUSR1 received: stopped after batch 0") as stop:
            callback._stop_if_signalled(trainer, save=False)
        assert stop.value.exit_code == 128 + signal.SIGUSR1
        callback.teardown(trainer, None, "fit")
        assert signal.getsignal(signal.SIGTERM) == sigterm  # the earlier handlers are back
        stop.value.hand_over()
        assert received == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, earlier)


def test_a_second_ctrl_c_interrupts_at_once_and_unknown_signals_are_refused():
    callback, trainer = StopOnSignal("unused.ckpt"), _Trainer()
    callback.setup(trainer, None, "fit")
    callback.on_train_start(trainer, None)  # in training, the first Ctrl+C only raises the flag
    try:
        callback._on_signal(signal.SIGINT, None)
        with pytest.raises(KeyboardInterrupt):
            callback._on_signal(signal.SIGINT, None)
    finally:
        callback.teardown(trainer, None, "fit")
    with pytest.raises(ValueError, match="unknown signal 'SIGFOO'"):
        StopOnSignal("unused.ckpt", signals=["SIGFOO"])


def test_the_slurm_launcher_stops_on_submitits_warning_signal_and_requeues(compose_cfg):
    cfg = compose_cfg("launcher=slurm", "hydra.mode=MULTIRUN")
    launcher = HydraConfig.get().launcher
    assert launcher.additional_parameters.requeue is True
    assert launcher.signal_delay_s >= 60 and launcher.max_num_timeout > 0
    callback = instantiate(cfg.callbacks.preemption)
    assert callback.signals == [signal.SIGTERM, signal.SIGINT, signal.SIGUSR2]
    assert callback.checkpoint == f"{cfg.paths.output_dir}/checkpoints/last.ckpt"
