"""eval.py: a checkpoint's test metrics, measured with its run's settings, printed and saved as JSON."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from conftest import CONF, run_cli
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from audiogan.commands.evaluate import eval_config, evaluate
from audiogan.runs.checkpoints import load_task, run_config
from audiogan.runs.resolvers import register_resolvers

pytestmark = pytest.mark.slow  # every test evaluates a checkpoint trained through train.py

# each vocoder score on the family's front-end and on the shared evaluation front-end, and Griffin-Lim's
SCORES = ["harmonic_corr", "mel_l1", "mrstft"]
METRICS = sorted(
    f"test/{front_end}{score}{baseline}"
    for front_end in ("", "shared_")
    for score in SCORES
    for baseline in ("", "_griffinlim")
)


def eval_cfg(data_dir, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            "eval", overrides=[f"paths.data_dir={data_dir}", "trainer.enable_progress_bar=false", *overrides]
        )


def test_cli_prints_and_saves_the_test_metrics(melgan_ckpt, data_dir, tmp_path):
    out = tmp_path / "eval"
    args = (f"ckpt_path={melgan_ckpt}", f"output_dir={out}", "trainer.enable_progress_bar=false")
    result = run_cli("eval.py", *args, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics) == METRICS
    assert all(math.isfinite(value) for value in metrics.values())
    for name, value in metrics.items():
        assert f"{name}  " in result.stdout and f"{value:.4f}" in result.stdout
    assert OmegaConf.load(out / "config.yaml").data.test_clips == 2  # the run's data settings


def test_data_key_override_and_default_output_dir(melgan_ckpt, data_dir):
    metrics = evaluate(eval_cfg(data_dir, f"ckpt_path={melgan_ckpt}", "+data.test_clips=1"))
    (output,) = (melgan_ckpt.parents[1] / "eval").glob("*/metrics.json")
    assert json.loads(output.read_text()) == metrics
    assert OmegaConf.load(output.parent / "config.yaml").data.test_clips == 1


def test_another_data_config_resolves_against_the_run(melgan_ckpt, data_dir, tmp_path):
    cfg = eval_cfg(data_dir, f"ckpt_path={melgan_ckpt}", "data=ljspeech", "data.root=/corpora/LJSpeech-1.1")
    merged = eval_config(cfg, run_config(melgan_ckpt), tmp_path)
    assert merged.data.corpus._target_.endswith("LJSpeech") and merged.data.root == "/corpora/LJSpeech-1.1"
    assert merged.data.datasets.train.segment_length == 2048  # the run's model.datasets
    assert merged.data.cache_dir == f"{data_dir}/cache" and merged.trainer.default_root_dir == str(tmp_path)


def test_checkpoint_outside_its_run_dir_loads_from_the_config_it_carries(melgan_ckpt, tmp_path):
    moved = shutil.copy(melgan_ckpt, tmp_path / "model.ckpt")  # no config.yaml beside it
    assert run_config(moved).model.task._target_.endswith("MelGANTask")
    assert load_task(moved).counters.batches == 2
