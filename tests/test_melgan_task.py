"""MelGAN as a task: losses move the right way on a fixed batch, and resume reproduces a straight run."""

from __future__ import annotations

import csv

import pytest
import torch
from conftest import TINY_MELGAN
from omegaconf import open_dict
from overfit import early_late, overfit

from audiogan.commands.train import run

pytestmark = pytest.mark.slow  # every test trains for several batches


def test_discriminator_loss_falls_on_a_fixed_batch(compose_cfg):
    cfg = compose_cfg(
        *TINY_MELGAN,
        "model.task.optim.discriminator.lr=1e-3",
        "model.task.optim.generator.lr=1e-5",
        "model.task.schedule.max_batches=30",
    )
    history = overfit(cfg, 30)
    early, late = early_late(history["train/d_loss"])
    assert late < 0.5 * early


def test_generator_reconstruction_falls_during_warmup(compose_cfg):
    cfg = compose_cfg(
        *TINY_MELGAN,
        "model.task.optim.generator.lr=1e-3",
        "model.task.schedule.warmup_batches=30",
        "model.task.schedule.max_batches=30",
    )
    history = overfit(cfg, 30)
    early, late = early_late(history["train/g_mel_l1"])
    assert late < 0.8 * early
    assert "train/d_loss" not in history  # no discriminator update during warm-up


def _train(compose_cfg, tmp_path, name: str, max_batches: int, ckpt_path=None, extra=()):
    cfg = compose_cfg(
        *TINY_MELGAN,
        *extra,
        f"model.task.schedule.max_batches={max_batches}",
        "+trainer.limit_train_batches=2",
        "trainer.val_check_interval=2",
        "model.task.optim.generator.lr=1e-3",
        "model.task.optim.discriminator.lr=1e-3",
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / name)
        cfg.ckpt_path = str(ckpt_path) if ckpt_path else None
    run(cfg)
    return torch.load(tmp_path / name / "checkpoints" / "last.ckpt", weights_only=False)


def test_resume_gives_the_same_counters_and_weights(compose_cfg, tmp_path):
    straight = _train(compose_cfg, tmp_path, "straight", max_batches=4)
    _train(compose_cfg, tmp_path, "first_half", max_batches=2)
    resumed = _train(
        compose_cfg,
        tmp_path,
        "resumed",
        max_batches=4,
        ckpt_path=tmp_path / "first_half" / "checkpoints" / "last.ckpt",
    )
    assert straight["gan_engine"]["counters"] == resumed["gan_engine"]["counters"]
    assert straight["gan_engine"]["counters"]["batches"] == 4
    assert straight["state_dict"].keys() == resumed["state_dict"].keys()
    for key, value in straight["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key


def test_a_fresh_run_validates_once_before_training(compose_cfg, tmp_path):
    cfg = compose_cfg(*TINY_MELGAN, "validate_first=true")
    run(cfg)
    run_dir = tmp_path / "run"
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    validated_at = [int(row["step"]) for row in rows if row.get("val/mel_l1")]
    assert validated_at[0] == 0 and len(validated_at) == 2  # the untrained model, then batch 2
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["batch00000000", "batch00000002"]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["gan_engine"]["counters"]["batches"] == 2
