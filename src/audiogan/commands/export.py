"""``infer.py export=...``: a family's generator written as TorchScript and/or ONNX (the formats:
:mod:`audiogan.export`), or in the layout of the project the family comes from (``export=official``)."""

from __future__ import annotations

import logging
from pathlib import Path

from audiogan.errors import ConfigError
from audiogan.export import export_onnx, export_torchscript, onnx_difference
from audiogan.tasks.roles import Exportable

log = logging.getLogger(__name__)

EXPORTS = ("torchscript", "onnx", "all", "official")
TORCHSCRIPT_NAME = "generator.torchscript.pt"
ONNX_NAME = "generator.onnx"


def export_generator(task: Exportable, export: str, output_dir: Path) -> None:
    """Write the task's ``export_spec()`` module as TorchScript and/or ONNX (``export``: one of EXPORTS);
    an ONNX file is run once in onnxruntime on the example, and its difference to PyTorch logged.
    ``official``: the family's first release layout writes the generator as its project's code loads it."""
    if export == "official":
        layouts = getattr(type(task), "release_layouts", ())
        if not layouts:
            raise ConfigError(f"export=official: {type(task).__name__} declares no official release layout")
        for path in layouts[0]().write(task, output_dir):
            log.info("exported %s (%s layout)", path, layouts[0].name)
        return
    spec = task.export_spec()
    if export in ("torchscript", "all"):
        log.info("exported %s", export_torchscript(spec, output_dir / TORCHSCRIPT_NAME))
    if export in ("onnx", "all"):
        path = export_onnx(spec, output_dir / ONNX_NAME)
        log.info(
            "exported %s (onnxruntime vs PyTorch: max abs difference %.2e)", path, onnx_difference(spec, path)
        )
