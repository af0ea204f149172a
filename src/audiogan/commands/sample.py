"""Sampling behind ``python sample.py``: an unconditional generator's checkpoint in, N wavs + a grid out."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from audiogan.audio.io import save_audio
from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import checkpoint_file, load_task, new_output_dir
from audiogan.tasks.roles import Sampler, require
from audiogan.utils.devices import resolve_device
from audiogan.utils.images import render_grid, save_png

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> Path:
    """Write ``sample_<i>.wav`` for i < n and ``grid.png`` of their spectrograms; returns the output dir."""
    ckpt = checkpoint_file(cfg.ckpt_path)
    if cfg.n < 1:
        raise ConfigError(f"n={cfg.n}; expected at least one sample")
    task = require(load_task(ckpt), Sampler, "sample.py").to(resolve_device(cfg.device)).eval()
    output_dir = Path(cfg.output_dir) if cfg.output_dir else new_output_dir(ckpt, "samples")
    spectrograms, audio = task.sample(cfg.n, seed=cfg.seed, griffin_lim_iters=cfg.griffin_lim_iters)
    for i, clip in enumerate(audio):
        save_audio(output_dir / f"sample_{i:04d}.wav", clip, task.audio_config.sample_rate)
    save_png(output_dir / "grid.png", render_grid(spectrograms[: cfg.grid_size, 0]))
    log.info("wrote %d samples and grid.png to %s", len(audio), output_dir)
    return output_dir
