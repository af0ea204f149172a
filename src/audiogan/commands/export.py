"""``infer.py export=...``: a family's generator written as TorchScript and/or ONNX (the formats:
:mod:`audiogan.export`)."""

from __future__ import annotations

import logging
from pathlib import Path

from audiogan.export import export_onnx, export_torchscript, onnx_difference
from audiogan.tasks.roles import Exportable

log = logging.getLogger(__name__)

EXPORTS = ("torchscript", "onnx", "all")
TORCHSCRIPT_NAME = "generator.torchscript.pt"
ONNX_NAME = "generator.onnx"


def export_generator(task: Exportable, export: str, output_dir: Path) -> None:
    """Write the task's ``export_spec()`` module as TorchScript and/or ONNX (``export``: one of EXPORTS);
    an ONNX file is run once in onnxruntime on the example, and its difference to PyTorch logged."""
    spec = task.export_spec()
    if export in ("torchscript", "all"):
        log.info("exported %s", export_torchscript(spec, output_dir / TORCHSCRIPT_NAME))
    if export in ("onnx", "all"):
        path = export_onnx(spec, output_dir / ONNX_NAME)
        log.info(
            "exported %s (onnxruntime vs PyTorch: max abs difference %.2e)", path, onnx_difference(spec, path)
        )
