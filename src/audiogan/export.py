"""Export trained generators for deployment (TorchScript, ONNX), independent of the training code.

Each task's ``export_spec()`` says what to export (:class:`ExportSpec`): an inference copy of its generator,
an example input and which axes vary. Both formats trace that module on the example, so a shape-dependent
Python branch keeps the side the example took: a spec picks an example that takes the branch every length
needs. Files are written to a temporary name and renamed, so a crash never leaves a truncated model behind.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from audiogan.models.layers import remove_weight_norm
from audiogan.utils.extras import require
from audiogan.utils.files import atomic_write

ONNX_OPSET = 17


@dataclass(frozen=True)
class ExportSpec:
    """A module ready to export and how its one input and one output are named and shaped.

    ``dynamic_axes``: for the input and the output name, {axis: axis name} of the axes that may change
    (batch, time); every other axis is fixed at the example's size. ``torchscript_module``: where there is
    one, the same computation reorganised for speed whose layout survives TorchScript (a vocoder's fast
    inference path, :mod:`audiogan.inference.fast_path`: channels-last 2-D convolutions); TorchScript
    traces it instead of ``module``. ONNX, which has no memory layouts, always exports ``module``.
    """

    module: nn.Module
    example: torch.Tensor
    input_name: str
    output_name: str
    dynamic_axes: dict[str, dict[int, str]]
    torchscript_module: nn.Module | None = None


def inference_copy(module: nn.Module) -> nn.Module:
    """An eval-mode copy with weight norm baked in and no gradients: what is exported, training untouched."""
    return remove_weight_norm(copy.deepcopy(module)).eval().requires_grad_(False)


class FinalOutput(nn.Module):
    """The last of the outputs a generator returns (the denoiser's final waveform, not its WaveNet stage)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)[-1]


class Denormalised(nn.Module):
    """A generator followed by ``normalisation.denormalize``, so users get the task's feature units."""

    def __init__(self, generator: nn.Module, normalisation: nn.Module):
        super().__init__()
        self.generator = generator
        self.normalisation = normalisation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalisation.denormalize(self.generator(x))


def export_torchscript(spec: ExportSpec, path: str | os.PathLike) -> Path:
    """Trace ``spec.torchscript_module`` (else ``spec.module``) on its example and save it atomically; traced
    sizes stay dynamic."""
    with torch.no_grad():
        scripted = torch.jit.trace(spec.torchscript_module or spec.module, spec.example)
    path = Path(path)
    with atomic_write(path) as tmp:
        torch.jit.save(scripted, str(tmp))
    return path


def export_onnx(spec: ExportSpec, path: str | os.PathLike, opset: int = ONNX_OPSET) -> Path:
    """Export ``spec.module`` to ONNX at ``opset`` with its dynamic axes, checked before it replaces ``path``.

    The TorchScript-based exporter (``dynamo=False``), not the default torch.export one: in torch 2.11 the
    latter implements opset 18 and up only, and its down-conversion to 17 fails for these generators (no
    adapter for Pad: MelGAN and voice conversion stay at 18; the denoiser's Split becomes an invalid node).
    """
    require("export")
    import onnx  # here, not at the top: every task imports this module, and onnx costs each start ~0.07 s

    path = Path(path)
    with atomic_write(path) as tmp:
        torch.onnx.export(
            spec.module,
            (spec.example,),
            str(tmp),
            input_names=[spec.input_name],
            output_names=[spec.output_name],
            dynamic_axes=spec.dynamic_axes,
            opset_version=opset,
            dynamo=False,
        )
        onnx.checker.check_model(str(tmp), full_check=True)
    return path


def run_onnx(path: str | os.PathLike, x: torch.Tensor) -> torch.Tensor:
    """The output of an exported single-input model for ``x``, computed by onnxruntime on the CPU."""
    require("export", "onnxruntime")
    import onnxruntime  # here, not at the top: another ~0.06 s of every start otherwise

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: x.detach().cpu().numpy()})
    return torch.from_numpy(output)


def onnx_difference(spec: ExportSpec, path: str | os.PathLike) -> float:
    """Max abs difference between onnxruntime's output and PyTorch's for the spec's example."""
    with torch.no_grad():
        expected = spec.module(spec.example).cpu()
    return (run_onnx(path, spec.example) - expected).abs().max().item()
