"""Checkpoints written by audiogan 0.1 (one smoke-width run per family, ``tests/fixtures/v0_1_checkpoints``,
with the outputs 0.1 computed from them) still open with ``weights_only=True``, infer the same audio and
resume training."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import smoke
from omegaconf import open_dict

from audiogan.commands.train import run
from audiogan.runs.checkpoints import load_task

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_checkpoints"
FAMILIES = ["hifigan", "hifigan_denoise", "melgan", "specgan", "voice_conversion"]
EXPECTED = np.load(FIXTURES / "outputs.npz")


def tone(sample_rate: int) -> torch.Tensor:
    """The input 0.1's outputs were computed from: 8192 samples of a Hann-windowed 220 Hz tone."""
    t = np.arange(8192) / sample_rate
    return torch.tensor(0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(8192), dtype=torch.float32)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_0_1_checkpoint_is_plain_data(family):
    contents = torch.load(FIXTURES / f"{family}.ckpt", weights_only=True)
    assert contents["state_dict"] and contents["gan_engine"]["counters"]["batches"] > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_a_0_1_checkpoint_loads_and_gives_the_same_output(family, caplog):
    caplog.set_level(logging.INFO, logger="audiogan")
    task = load_task(FIXTURES / f"{family}.ckpt").eval()
    assert "written with older argument names: adversarial -> gan_loss, audio -> audio_config" in caplog.text
    if family == "specgan":
        output = task.sample(2, seed=0, griffin_lim_iters=2)[0][:, 0]
    else:
        options = {"griffin_lim_iters": 4} if family == "voice_conversion" else {}
        output = task.inference_module(**options)(tone(task.audio_config.sample_rate))
    np.testing.assert_allclose(output.numpy(), EXPECTED[family], atol=1e-5, rtol=0)


@pytest.mark.slow  # trains one batch per family
@pytest.mark.parametrize("family", FAMILIES)
def test_a_0_1_checkpoint_resumes_training(family, compose_cfg, tmp_path):
    old = shutil.copy(FIXTURES / f"{family}.ckpt", tmp_path / "old.ckpt")
    batches = torch.load(old, weights_only=True)["gan_engine"]["counters"]["batches"]
    cfg = compose_cfg(*smoke(family), f"ckpt_path={old}", f"++model.task.schedule.max_batches={batches + 1}")
    with open_dict(cfg):
        cfg.trainer.val_check_interval = 1
    run(cfg)
    resumed = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["gan_engine"]["counters"]["batches"] == batches + 1
