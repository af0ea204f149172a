"""What a family offers the commands, as roles it takes on by inheriting them.

A command asks for a role with :func:`require`; a family without it is refused in one line naming the
family and the role (:class:`audiogan.errors.UnsupportedCommand`), before any work is done. The engine
(:class:`audiogan.tasks.base.GANTask`) takes on none of them.

====================  ==========================================  ======================================
role                  what it gives                               who asks
====================  ==========================================  ======================================
``Resynthesizer``     a module from a waveform to a waveform      infer.py, convert.py, audiogan.load
``MelVocoding``       a module from log-mels to waveforms         vocoder_ckpt=, audiogan.load(vocoder=)
``Exportable``        the generator to export and its example     infer.py export=...
``Sampler``           unconditional samples                       sample.py
``PythonAPI``         its own object for ``audiogan.load``        audiogan.load (else a Resynthesizer's)
====================  ==========================================  ======================================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from audiogan.errors import UnsupportedCommand

if TYPE_CHECKING:
    from audiogan.audio.config import AudioConfig
    from audiogan.export import ExportSpec


class Resynthesizer(ABC):
    """Waveform in, waveform out (a vocoder's resynthesis, a denoiser, a voice converter)."""

    role = "audio-to-audio inference (infer.py)"
    # the infer.py options this family's inference_module accepts (by name), besides the input
    inference_options: tuple[str, ...] = ()

    @abstractmethod
    def inference_module(self, **options: Any) -> nn.Module:
        """A module from a waveform [T] at its ``sample_rate`` to a waveform [T] (inputs shorter than its
        ``min_samples`` are refused); ``options``: the names in ``inference_options``."""


class MelVocoding(ABC):
    """Renders log-mels as audio, for commands that turn another family's mels into sound."""

    role = "mel vocoder (vocoder_ckpt)"

    @abstractmethod
    def mel_vocoder(self, mel_config: AudioConfig | None = None) -> nn.Module:
        """A module from mels [B, n_mels, frames] of front-end ``mel_config`` (default: this family's own)
        to waveforms [B, samples]."""


class Exportable(ABC):
    """Has a generator worth deploying on its own (TorchScript, ONNX)."""

    role = "generator to export"

    @abstractmethod
    def export_spec(self) -> ExportSpec:
        """The module to export and its example input (see :mod:`audiogan.export`)."""


class Sampler(ABC):
    """An unconditional generator."""

    role = "unconditional sampling (sample.py)"

    @abstractmethod
    def sample(
        self, n: int, seed: int | None = None, griffin_lim_iters: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples as (spectrograms [n, 1, bins, frames], audio [n, T])."""


class PythonAPI(ABC):
    """Gives Python callers an object of its own (``audiogan.load``), instead of the resynthesis module."""

    role = "Python API (audiogan.load)"

    @abstractmethod
    def python_api(self, **options: Any) -> Any:
        """What ``audiogan.load`` returns for this family's checkpoints."""


Role = TypeVar("Role")


def require(task: Any, role: type[Role], command: str | None = None) -> Role:
    """``task`` if it takes on ``role``, else :class:`UnsupportedCommand` naming the family and the role."""
    if isinstance(task, role):
        return task
    asked = f" ({command})" if command else ""
    raise UnsupportedCommand(f"{type(task).__name__} checkpoints offer no {role.role}{asked}")
