"""Inference behind ``python infer.py``: a checkpoint and audio files in, processed audio out.

Each file is read with the project's audio I/O (mono, resampled to the model's rate), run through the
family's inference module (its :class:`audiogan.tasks.roles.Resynthesizer` role: a vocoder's log-mel ->
generator, the denoiser's chunked WaveNet + postnet, voice conversion's dB mel -> generator -> Griffin-Lim
or a trained vocoder) and written as ``<output_dir>/<relative path>.wav`` at the file's own sample rate, the
same length as the input.
``export=`` also writes the task's generator as TorchScript and/or ONNX (:mod:`audiogan.commands.export`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from audiogan.audio.io import (
    AudioFileError,
    audio_info,
    find_audio_files,
    load_audio,
    resample,
    save_audio,
)
from audiogan.audio.length import crop_or_pad
from audiogan.commands.export import EXPORTS, export_generator
from audiogan.errors import ConfigError, UnsupportedCommand
from audiogan.runs.checkpoints import checkpoint_file, load_vocoder, new_output_dir
from audiogan.runs.releases import open_task
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, Resynthesizer, require
from audiogan.utils.devices import resolve_device

log = logging.getLogger(__name__)

# infer.yaml keys -> the inference_module argument each becomes (vocoder_ckpt: its mel_vocoder)
OPTION_KEYS = {"griffin_lim_iters": "griffin_lim_iters", "vocoder_ckpt": "vocoder"}


def audio_files(source: Path, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """(file, output path relative to the output dir) for a file, or a folder's audio files recursively
    except those under ``exclude`` (the output dir, when inside the input folder)."""
    if source.is_file():
        return [(source, Path(source.name).with_suffix(".wav"))]
    if not source.exists():
        raise FileNotFoundError(f"input not found: {source}")
    files = [
        (path, path.relative_to(source).with_suffix(".wav")) for path in find_audio_files(source, exclude)
    ]
    clashes = sorted(str(out) for out, count in Counter(out for _, out in files).items() if count > 1)
    if clashes:
        raise ConfigError(f"several inputs would be written to the same output file(s): {clashes}")
    return files


def at_file_rate(audio: torch.Tensor, rate: int, path: Path) -> tuple[torch.Tensor, int]:
    """``audio`` at ``rate`` resampled back to the rate of the file it came from, at that file's length."""
    info = audio_info(path)
    if info.samplerate == rate:
        return audio, rate
    return crop_or_pad(resample(audio.float().cpu(), rate, info.samplerate), info.frames), info.samplerate


@dataclass
class InferenceSummary:
    """What a run did, for the log line and for callers (tests, benchmarks)."""

    files: int
    skipped: int
    audio_seconds: float
    wall_seconds: float
    output_dir: Path

    @property
    def real_time_factor(self) -> float:
        """Processing time per second of audio (below 1 is faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else float("nan")

    def __str__(self) -> str:
        return (
            f"wrote {self.files} file(s) to {self.output_dir} ({self.skipped} skipped): "
            f"{self.audio_seconds:.1f} s of audio in {self.wall_seconds:.2f} s, "
            f"real-time factor {self.real_time_factor:.4f}"
        )


def resynthesise(
    model: nn.Module, files: list[tuple[Path, Path]], output_dir: Path, skip_unreadable: bool
) -> InferenceSummary:
    """Run ``model`` over every file; unusable files are skipped with a warning when ``skip_unreadable``."""
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    written, skipped, seconds = 0, 0, 0.0
    start = time.perf_counter()
    for i, (path, relative) in enumerate(files, 1):
        try:
            audio = load_audio(path, model.sample_rate, min_samples=model.min_samples, silence_threshold=0.0)
        except AudioFileError as err:
            if not skip_unreadable:
                raise
            log.warning("skipped %s", err)
            skipped += 1
            continue
        save_audio(output_dir / relative, *at_file_rate(model(audio.to(device)), model.sample_rate, path))
        written += 1
        seconds += audio.numel() / model.sample_rate
        log.info("[%d/%d] %s (%.1f s)", i, len(files), relative, audio.numel() / model.sample_rate)
    return InferenceSummary(written, skipped, seconds, time.perf_counter() - start, output_dir)


def inference_options(cfg: DictConfig, task: GANTask) -> dict[str, Any]:
    """The options of ``cfg`` that were set, as arguments of the task's ``inference_module``; an option
    its family does not take (``task.inference_options``) is refused by name."""
    given = {key: cfg.get(key) for key in OPTION_KEYS if cfg.get(key) is not None}
    accepted = getattr(task, "inference_options", ())
    refused = [key for key in given if OPTION_KEYS[key] not in accepted]
    if refused:
        raise ConfigError(
            f"{' and '.join(refused)} do not apply to {cfg.ckpt_path}, a {type(task).__name__} checkpoint "
            "(leave them null)"
        )
    options: dict[str, Any] = {}
    if "griffin_lim_iters" in given:
        options["griffin_lim_iters"] = int(given["griffin_lim_iters"])
        if options["griffin_lim_iters"] < 1:
            raise ConfigError(f"griffin_lim_iters must be >= 1, got {options['griffin_lim_iters']}")
    if "vocoder_ckpt" in given:
        path = given["vocoder_ckpt"]
        try:
            options["vocoder"] = load_vocoder(path, task.audio_config)
        except UnsupportedCommand as err:
            raise ConfigError(f"vocoder_ckpt={path}: {err}; expected a vocoder (e.g. model=melgan)") from err
        except ValueError as err:
            raise ConfigError(f"vocoder_ckpt={path} cannot vocode these mels: {err}") from err
    return options


def run(
    cfg: DictConfig, command: str = "infer", task_type: type[GANTask] | None = None
) -> InferenceSummary | None:
    """``infer.py`` (and ``convert.py``, which asks for a ``task_type``): process ``cfg.input`` and/or export
    the generator; returns the summary. Outputs go to a fresh ``<run dir>/<command>/...`` by default."""
    ckpt = checkpoint_file(cfg.ckpt_path)
    if cfg.export is not None and cfg.export not in EXPORTS:
        raise ConfigError(f"export={cfg.export}; expected one of {', '.join(EXPORTS)} or null")
    if cfg.input is None and cfg.export is None:
        raise ConfigError(
            f"nothing to do: pass input=<audio file or folder> (and/or export=<{'|'.join(EXPORTS)}>)"
        )
    output_dir = Path(cfg.output_dir) if cfg.output_dir else new_output_dir(ckpt, command)
    files = audio_files(Path(cfg.input), exclude=output_dir) if cfg.input is not None else []
    device = resolve_device(cfg.device)
    task = open_task(ckpt)
    if task_type is not None and not isinstance(task, task_type):
        raise ConfigError(
            f"{ckpt} is a {type(task).__name__} checkpoint; {command}.py needs a {task_type.__name__} one"
        )
    options = inference_options(cfg, task)
    if files:
        require(task, Resynthesizer, f"{command}.py input=")
    if cfg.export is not None:
        export_generator(require(task, Exportable, f"{command}.py export="), cfg.export, output_dir)
    if not files:
        return None
    module = task.inference_module(**options).to(device).eval()
    summary = resynthesise(module, files, output_dir, skip_unreadable=Path(cfg.input).is_dir())
    log.info("%s", summary)
    return summary
