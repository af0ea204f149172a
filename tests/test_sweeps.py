"""Scaling out through Hydra: an Optuna study per family, submitit launchers, and multirun + DDP refused."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml
from conftest import FEW_METRIC_SAMPLES, SHORT_MELGAN, TINY_DENOISE, TINY_SPECGAN, TINY_VC, run_cli
from hydra.core.hydra_config import HydraConfig

from audiogan.launch import SLURM_LAUNCHER, check_launch
from audiogan.utils.config import ConfigError

# two batches and one validation at its end (the denoiser: 2 + 2 + 4 batches over its three stages)
TWO_BATCHES = ["model.task.schedule.max_batches=2", "trainer.val_check_interval=2"]
# family, toy overrides, the monitor each trial is scored by, and which of the trials' scores is the best
SWEEPS = [
    ("melgan", SHORT_MELGAN, "val/mel_l1", min),
    ("specgan", [*TINY_SPECGAN, FEW_METRIC_SAMPLES, *TWO_BATCHES], "val/wasserstein", min),
    ("hifigan_denoise", [*TINY_DENOISE, "trainer.val_check_interval=8"], "val/pesq", max),
    ("voice_conversion", [*TINY_VC, *TWO_BATCHES], "val/mcd", min),
]


def _sweep_dir(log_dir: Path, family: str) -> Path:
    (sweep,) = (log_dir / family / "multiruns").iterdir()
    return sweep


def _last_logged(job: Path, metric: str) -> float:
    with open(job / "csv" / "metrics.csv") as handle:
        return float([row[metric] for row in csv.DictReader(handle) if row[metric]][-1])


@pytest.mark.slow
@pytest.mark.parametrize(("family", "overrides", "monitor", "best"), SWEEPS, ids=[s[0] for s in SWEEPS])
def test_optuna_sweep_runs_trials_and_writes_the_best(data_dir, tmp_path, family, overrides, monitor, best):
    result = run_cli(
        "train.py", "-m", f"hparams_search={family}_optuna", "hydra.sweeper.n_trials=2", *overrides,
        data_dir=data_dir, log_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    sweep = _sweep_dir(tmp_path, family)
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    # every trial's score, not only the best: a NaN trial would be dropped by Optuna as failed
    scores = [_last_logged(job, monitor) for job in jobs]
    assert all(math.isfinite(s) for s in scores), scores
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(best(scores), rel=1e-5)  # the study's direction
    assert len(results["best_params"]) >= 3


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
    result = run_cli("train.py", *args, *SHORT_MELGAN, data_dir=data_dir, log_dir=tmp_path)
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
    result = run_cli(
        "train.py", "-m", "launcher=submitit_local", *SHORT_MELGAN, data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    sweep = _sweep_dir(tmp_path, "melgan")
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
