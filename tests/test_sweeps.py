"""Scaling out through Hydra: submitit launchers, multirun + DDP refused, an Optuna study kept in SQLite
(every family's sweep: test_every_family)."""

from __future__ import annotations

import math

import pytest
from conftest import TINY_MELGAN, run_in_process
from hydra.core.hydra_config import HydraConfig

from audiogan.commands.launch import SLURM_LAUNCHER, check_launch
from audiogan.errors import ConfigError


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "trainer=ddp_cpu", "loss=lsgan,hinge"], "a multirun (-m) cannot train with DDP"),
        (["launcher=submitit_local"], "launcher=submitit_local only applies to multiruns"),
    ],
    ids=["multirun_ddp", "launcher_without_m"],
)
def test_launches_that_cannot_work_fail_at_once_saying_what_to_use(data_dir, tmp_path, args, message):
    result = run_in_process("train.py", *args, *TINY_MELGAN, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 1
    assert f"ConfigError: {message}" in result.stdout and "Traceback" not in result.stdout
    assert not list(tmp_path.rglob("*.ckpt"))


def test_multirun_ddp_message_names_the_alternatives(compose_cfg):
    cfg = compose_cfg("trainer=ddp_cpu", "hydra.mode=MULTIRUN")
    with pytest.raises(ConfigError, match="basic launcher") as err:
        check_launch(cfg)
    for alternative in ("launcher=slurm", "torchrun --nproc_per_node=N", "without -m"):
        assert alternative in str(err.value)
    check_launch(compose_cfg("trainer=ddp_cpu", "trainer.devices=1", "hydra.mode=MULTIRUN"))  # one process


@pytest.mark.slow
def test_submitit_local_launcher_runs_the_job(data_dir, tmp_path):
    result = run_in_process(
        "train.py", "-m", "launcher=submitit_local", *TINY_MELGAN, data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (sweep,) = (tmp_path / "melgan" / "multiruns").iterdir()
    assert (sweep / "0" / "checkpoints" / "last.ckpt").exists()
    assert list(sweep.glob(".submitit/*/*_0_result.pkl"))  # ran as a submitit job, not in this process


def test_slurm_launcher_composes_and_the_trainer_follows_its_allocation(compose_cfg):
    overrides = ("launcher=slurm", "trainer=ddp", "hydra.launcher.gpus_per_node=4", "hydra.launcher.nodes=2")
    cfg = compose_cfg(*overrides, "hydra.mode=MULTIRUN")
    launcher = HydraConfig.get().launcher
    assert launcher._target_ == SLURM_LAUNCHER
    documented = ("partition", "account", "timeout_min", "gpus_per_node", "tasks_per_node", "nodes")
    for key in (*documented, "cpus_per_task", "mem_gb", "additional_parameters", "setup"):
        assert key in launcher
    assert launcher.tasks_per_node == 4  # one task per GPU
    assert (cfg.trainer.devices, cfg.trainer.num_nodes) == (4, 2)
    check_launch(cfg)  # srun starts the ranks: a DDP multirun is fine here


@pytest.mark.slow
def test_optuna_study_in_sqlite_keeps_every_trial(data_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    result = run_in_process(
        "train.py", "-m", "hparams_search=melgan_optuna", "hydra.sweeper.n_trials=2",
        f"hydra.sweeper.storage={storage}", *TINY_MELGAN, data_dir=data_dir, log_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    import optuna  # here, not at collection: importing it takes a second

    study = optuna.load_study(study_name="melgan", storage=storage)  # read back from the file
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert all(math.isfinite(t.value) for t in trials)
    assert "model.task.optim.generator.lr" in study.best_params
