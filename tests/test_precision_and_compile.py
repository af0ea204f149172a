"""Every family trains under bf16 autocast and with torch.compile'd networks (CPU here, GPU: make bench)."""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import FEW_METRIC_SAMPLES, TINY_DENOISE, TINY_MELGAN, TINY_SPECGAN, TINY_VC
from omegaconf import open_dict

from audiogan.train import run

pytestmark = pytest.mark.slow  # every test trains each family for several batches

TWO_BATCHES = ["model.task.schedule.max_batches=2", "trainer.val_check_interval=2"]
# family -> (toy overrides, engine counters after them)
FAMILIES = {
    "melgan": ([*TINY_MELGAN, *TWO_BATCHES], {"batches": 2, "d_updates": 2, "g_updates": 2}),
    "specgan": (
        [
            *TINY_SPECGAN,
            FEW_METRIC_SAMPLES,
            "model.task.schedule.max_batches=5",
            "trainer.val_check_interval=5",
        ],
        {"batches": 5, "d_updates": 5, "g_updates": 1},
    ),
    # 1 + 1 batches of G alone, then 2 batches at 2:1
    "hifigan_denoise": (
        [
            *TINY_DENOISE,
            "model.stage_batches.wavenet=1",
            "model.stage_batches.postnet=1",
            "model.stage_batches.adversarial=2",
            "trainer.val_check_interval=4",
        ],
        {"batches": 4, "d_updates": 2, "g_updates": 3},
    ),
    "voice_conversion": (
        [*TINY_VC, *TWO_BATCHES, "model.task.schedule.d_loss_threshold=null"],
        {"batches": 2, "d_updates": 2, "g_updates": 4},
    ),
}


def _train(compose_cfg, tmp_path, family: str, *extra: str) -> dict:
    overrides, _ = FAMILIES[family]
    cfg = compose_cfg(*overrides, *extra)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / family)
    run(cfg)
    return torch.load(tmp_path / family / "checkpoints" / "last.ckpt", weights_only=False)


def _finite(checkpoint: dict) -> bool:
    return all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("family", FAMILIES)
def test_bf16_mixed_trains_every_family(compose_cfg, tmp_path, family):
    checkpoint = _train(compose_cfg, tmp_path, family, "trainer.precision=bf16-mixed")
    assert checkpoint["gan_engine"]["counters"] == {**FAMILIES[family][1], "d_skipped": 0}
    assert _finite(checkpoint)


@pytest.mark.parametrize("family", FAMILIES)
def test_compiled_networks_train_and_save_eager_compatible_checkpoints(compose_cfg, tmp_path, family, caplog):
    # the eager backend runs the Dynamo capture without code generation: the wrapping, graph breaks and
    # recompiles are exercised in seconds (inductor's compile time belongs to make bench)
    caplog.set_level(logging.INFO, logger="audiogan")
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    checkpoint = _train(compose_cfg, tmp_path, family, "compile=true", "compile_options.backend=eager")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # the networks ran as captured graphs
    assert "compiling generator and discriminator with torch.compile({'backend': 'eager'" in caplog.text
    assert checkpoint["gan_engine"]["counters"] == {**FAMILIES[family][1], "d_skipped": 0}
    assert _finite(checkpoint)
    assert not any("_orig_mod" in key for key in checkpoint["state_dict"])
