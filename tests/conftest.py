"""Shared fixtures: one embedded corpus per test session, config composition, CLI runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import open_dict

from audiogan.utils.config import compose_config

# Tests use tiny models: one thread is as fast and does not collapse when other jobs share the cores.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

# Tiny MelGAN that trains in well under a second per batch on 2 CPU cores.
TINY_MELGAN = [
    "model.task.generator.ngf=4",
    "model.task.discriminator.ndf=4",
    "model.task.discriminator.num_scales=2",
    "model.task.discriminator.n_layers=2",
    "model.batch_size=2",
    "model.datasets.train.segment_length=2048",
    "model.datasets.val.max_seconds=0.5",
    "data.val_clips=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "print_config=false",
]

# the MelGAN above trained for 2 batches with one validation
SHORT_MELGAN = [*TINY_MELGAN, "model.task.schedule.max_batches=2", "trainer.val_check_interval=2"]

# SpecGAN at toy widths on the embedded spoken digits
TINY_SPECGAN = [
    "model=specgan",
    "data=tiny_speech_digits",
    "model.task.generator.dim=4",
    "model.task.discriminator.dim=4",
    "model.batch_size=4",
    "model.val_clips=2",
    "model.task.samples_to_log=2",
    "print_config=false",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
]

# SpecGAN's validation generates and Griffin-Lim-inverts model.task.metric_samples clips (256) for the digit
# metrics, even with no classifier to score them: runs that score none need only the two clips they log
FEW_METRIC_SAMPLES = "model.task.metric_samples=2"

# the denoiser at toy widths on the embedded noisy corpus: 2 + 2 + 4 batches (stage 3 at 2:1)
TINY_DENOISE = [
    "model=hifigan_denoise",
    "data=tiny_speech_noisy",
    "model.task.generator.wavenet.stacks=1",
    "model.task.generator.wavenet.layers_per_stack=3",
    "model.task.generator.wavenet.channels=8",
    "model.task.generator.wavenet.skip_channels=8",
    "model.task.generator.wavenet.head_channels=[16,8]",
    "model.task.generator.postnet.layers=2",
    "model.task.generator.postnet.channels=8",
    "model.task.generator.postnet.kernel_size=4",
    "model.task.discriminator.waveform.ndf=4",
    "model.task.discriminator.waveform.n_layers=2",
    "model.task.discriminator.mel.channels=4",
    "model.task.discriminator.mel.n_mels=20",
    "model.task.discriminator.mel.n_fft=256",
    "model.task.discriminator.mel.hop_length=64",
    "model.task.spectrogram_resolutions=[[256,64],[64,16]]",
    "model.stage_batches.wavenet=2",
    "model.stage_batches.postnet=2",
    "model.stage_batches.adversarial=4",
    "model.batch_size=2",
    "model.segment_length=2048",
    "model.val_segment_length=8000",
    "model.val_clips=1",
    "model.task.chunk_seconds=0.2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "print_config=false",
]


# toy widths: generator 80 -> 8 -> 16 (1 down, 1 residual block), discriminator 80 -> 8 -> 16
TINY_VC = [
    "model=voice_conversion",
    "data=tiny_speech_parallel",
    "model.task.generator.hidden_channels=8",
    "model.task.generator.n_downsample=1",
    "model.task.generator.n_residual_blocks=1",
    "model.task.discriminator.hidden_channels=8",
    "model.task.discriminator.n_layers=2",
    "model.batch_size=2",
    "model.segment_frames=32",
    "model.val_pairs=1",
    "model.task.samples_to_log=1",
    "model.task.griffin_lim_iters=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "print_config=false",
]


def quiet_trainer(**options) -> L.Trainer:
    """A CPU Trainer with no logger, checkpoints, progress bar or summary unless ``options`` say so."""
    defaults = dict(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    return L.Trainer(**{**defaults, **options})


def on_meta(network: dict) -> torch.nn.Module:
    """``network`` (a Hydra node) built on the meta device: full-size shapes without memory or init time."""
    with torch.device("meta"):
        return instantiate(network)


def generator_on_meta(cfg):
    """``cfg`` whose task builds its generator on the meta device (voice conversion's has 391M parameters)."""
    with open_dict(cfg):
        network = cfg.model.task.generator
        wrapper = {"_target_": "conftest.on_meta", "_recursive_": False, "network": network}
        cfg.model.task.generator = wrapper
    return cfg


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data dir holding the embedded corpus, built once for the whole session."""
    from audiogan.data.corpora.tiny_speech import ensure_tiny_speech

    root = tmp_path_factory.mktemp("data")
    ensure_tiny_speech(root)
    return root


@pytest.fixture
def compose_cfg(data_dir, tmp_path):
    """Compose conf/train.yaml with overrides, as train.py would, with paths inside tmp dirs."""

    def _compose(*overrides: str):
        cfg = compose_config(CONF, [f"paths.data_dir={data_dir}", f"paths.log_dir={tmp_path}", *overrides])
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / "run")
        return cfg

    return _compose


def trained_run(family: str, overrides: list[str], data_dir: Path, log_dir: Path) -> Path:
    """The run dir of ``python train.py <overrides>`` trained for two batches with one validation."""
    two_batches = ("model.task.schedule.max_batches=2", "trainer.val_check_interval=2")
    result = run_cli("train.py", *overrides, *two_batches, data_dir=data_dir, log_dir=log_dir)
    assert result.returncode == 0, result.stdout[-3000:]
    (run,) = (log_dir / family / "runs").iterdir()
    return run


def trained_in_process(overrides: list[str], data_dir: Path, run_dir: Path) -> Path:
    """``run_dir`` after ``audiogan.train.run`` (what train.py calls) with ``overrides``: a run for the other
    commands to read, without a subprocess' start-up (train.py itself is tested with ``trained_run``)."""
    from audiogan.train import run

    cfg = compose_config(CONF, [f"paths.data_dir={data_dir}", f"paths.log_dir={run_dir.parent}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    run(cfg)
    return run_dir


@pytest.fixture(scope="session")
def melgan_ckpt(data_dir, tmp_path_factory) -> Path:
    """A tiny MelGAN's last checkpoint after two batches through the CLI, once for the session: what train.py
    leaves, what infer.py, eval.py (2 test clips) and convert.py read. It logs to CSV and TensorBoard."""
    overrides = [*TINY_MELGAN, "data.test_clips=2", "logger=[csv,tensorboard]"]
    run = trained_run("melgan", overrides, data_dir, tmp_path_factory.mktemp("melgan_runs"))
    return run / "checkpoints" / "last.ckpt"


def cli_env(data_dir: Path, log_dir: Path) -> dict[str, str]:
    """The environment the commands run in under test: data and logs in tmp dirs, one thread, quiet W&B."""
    env = {**os.environ, "AUDIOGAN_DATA_DIR": str(data_dir), "AUDIOGAN_LOG_DIR": str(log_dir)}
    env.update(WANDB_SILENT="true", OMP_NUM_THREADS="1")
    return env


def run_cli(script: str, *args: str, data_dir: Path, log_dir: Path, timeout: int = 300):
    """Run one of the top-level commands as a user would, in the repo root."""
    env = cli_env(data_dir, log_dir)
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # Hydra logs to stdout, Python errors go to stderr: read both in order
        text=True,
        timeout=timeout,
    )
