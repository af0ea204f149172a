"""The Python API: ``audiogan.load(path)`` gives a trained family's inference object.

    vocoder = audiogan.load("melgan.ckpt")            # vocoder.vocode(log_mel), vocoder(wave, rate)
    denoiser = audiogan.load("denoiser.ckpt")         # denoiser(wave, rate), any length
    converter = audiogan.load("vc.ckpt", vocoder="melgan.ckpt")   # converter(wave, rate)
    generator = audiogan.load("specgan.ckpt")         # generator.sample(n, seed=0)

Waveforms go in as [T] or [B, T] tensors or arrays at any rate (resampled to the model's) and come out as
:class:`Audio`, a waveform with its rate.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from audiogan.inference.audio_model import Audio, AudioModel
from audiogan.runs.checkpoints import load_vocoder
from audiogan.runs.releases import open_task
from audiogan.tasks.roles import PythonAPI, Resynthesizer, require

__all__ = ["Audio", "AudioModel", "load"]


def load(path: str | os.PathLike, device: str | torch.device = "cpu", **options: Any) -> Any:
    """The inference object of the family a checkpoint trained (see the module docstring): the family's own
    (its ``python_api``), else its inference module taking waveforms at any rate (:class:`AudioModel`).

    ``options`` go to the family (voice conversion: ``vocoder=`` a vocoder checkpoint path or a loaded mel
    vocoder, ``griffin_lim_iters=``). A checkpoint file alone is enough: it carries its run's config. A file
    in another project's release layout (jik876/hifi-gan's ``g_<steps>`` with its ``config.json``) is
    imported on the fly, said in one log line.
    """
    task = open_task(path, device).to(device).eval()
    if isinstance(options.get("vocoder"), (str, os.PathLike)):
        options["vocoder"] = load_vocoder(options["vocoder"], task.audio_config, device)
    if isinstance(task, PythonAPI):
        return task.python_api(**options)
    module = require(task, Resynthesizer, "audiogan.load").inference_module(**options)
    return AudioModel(module, task.device)
