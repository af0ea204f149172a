"""Voice conversion behind ``python convert.py``: a voice-conversion checkpoint and audio files in, converted
audio out.

Each file is read with the project's audio I/O (mono, resampled to the model's rate), turned into a dB
log-mel, converted by the generator, and brought back to audio by Griffin-Lim (``griffin_lim_iters``
iterations, 128 by default); written as ``<output_dir>/<relative path>.wav``, the same length as the input.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from audiogan.checkpoints import checkpoint_file, load_task, new_output_dir
from audiogan.infer import InferenceSummary, audio_files, resolve_device, resynthesise
from audiogan.tasks.voice_conversion import VoiceConversionTask
from audiogan.utils.config import ConfigError

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> InferenceSummary:
    """``convert.py``: convert ``cfg.input`` (a file or a folder) and return the summary."""
    ckpt = checkpoint_file(cfg.ckpt_path)
    if cfg.input is None:
        raise ConfigError("nothing to convert: pass input=<audio file or folder>")
    if cfg.get("vocoder_ckpt") is not None:
        raise ConfigError("vocoder_ckpt is not supported yet; leave it null to vocode with Griffin-Lim")
    iters = int(cfg.griffin_lim_iters)
    if iters < 1:
        raise ConfigError(f"griffin_lim_iters must be >= 1, got {iters}")
    output_dir = Path(cfg.output_dir) if cfg.output_dir else new_output_dir(ckpt, "convert")
    files = audio_files(Path(cfg.input), exclude=output_dir)
    device = resolve_device(cfg.device)
    task = load_task(ckpt)
    if not isinstance(task, VoiceConversionTask):
        raise ConfigError(
            f"{ckpt} is a {type(task).__name__} checkpoint; convert.py needs one trained with "
            "model=voice_conversion (use infer.py for the other families)"
        )
    converter = task.inference_module(n_iter=iters).to(device).eval()
    summary = resynthesise(converter, files, output_dir, skip_unreadable=Path(cfg.input).is_dir())
    log.info("%s", summary)
    return summary
