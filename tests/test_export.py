"""Export: every family's generator as TorchScript and ONNX equals PyTorch at shapes unlike the example."""

from __future__ import annotations

import logging
import re

import onnx
import pytest
import torch
from conftest import TINY_DENOISE, TINY_MELGAN, TINY_SPECGAN, TINY_VC
from test_infer import infer_cfg
from torch import nn

from audiogan.export import export_onnx, export_torchscript, run_onnx
from audiogan.infer import ONNX_NAME, run
from audiogan.tasks.hifigan_denoise import HiFiGANDenoiseTask
from audiogan.tasks.specgan import SpecGANTask
from audiogan.train import build_task
from audiogan.utils.config import ConfigError

# per case: toy overrides and input shapes unlike the example's (SpecGAN's latent has no length: another batch
# size; voice conversion: a length its generator pads, 37, and one it need not, 100)
CASES = {
    "melgan": (TINY_MELGAN, [(2, 80, 45)]),
    "specgan": (TINY_SPECGAN, [(3, 100)]),
    "denoise": (TINY_DENOISE, [(2, 1, 3001)]),  # stage 1: no postnet
    "denoise_postnet": ([*TINY_DENOISE, "model.task.schedule.only_stage=postnet"], [(2, 1, 3001)]),
    "voice_conversion": (TINY_VC, [(2, 80, 37), (1, 80, 100)]),
}


def as_if_trained(task: nn.Module) -> nn.Module:
    """Statistics away from their initial values, so that exporting in eval mode and the moments matter."""
    with torch.no_grad():
        for module in task.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
        if isinstance(task, SpecGANTask):
            task.moments.mean.normal_()
            task.moments.std.uniform_(0.5, 2.0)
    return task.eval()


def pytorch_output(task: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the export should compute, by the task's own modules: the reference."""
    if isinstance(task, SpecGANTask):
        return task.moments.denormalize(task.generator(x))
    if isinstance(task, HiFiGANDenoiseTask):
        return task.generator(x)[1]
    return task.generator(x)


@pytest.mark.parametrize("case", CASES)
def test_exports_equal_pytorch_at_other_shapes(compose_cfg, tmp_path, case):
    overrides, shapes = CASES[case]
    torch.manual_seed(0)
    task = as_if_trained(build_task(compose_cfg(*overrides)))
    assert getattr(task.generator, "use_postnet", True) == (case != "denoise")
    spec = task.export_spec()
    scripted = torch.jit.load(str(export_torchscript(spec, tmp_path / "generator.pt")))
    onnx_path = export_onnx(spec, tmp_path / "generator.onnx")
    assert onnx.load(str(onnx_path)).opset_import[0].version == 17
    for shape in shapes:
        assert shape != spec.example.shape
        x = torch.randn(shape)
        with torch.no_grad():
            expected = pytorch_output(task, x)
            torch.testing.assert_close(scripted(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(run_onnx(onnx_path, x), expected, atol=1e-4, rtol=1e-3)


@pytest.mark.slow
def test_infer_exports_onnx_from_a_checkpoint(melgan_ckpt, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="audiogan.infer")
    assert run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=onnx")) is None
    assert [p.name for p in tmp_path.iterdir()] == [ONNX_NAME]  # complete: no temporary file left beside
    onnx.checker.check_model(str(tmp_path / ONNX_NAME), full_check=True)
    audio = run_onnx(tmp_path / ONNX_NAME, torch.randn(1, 80, 10))
    assert audio.shape == (1, 1, 10 * 256) and torch.isfinite(audio).all()
    logged = re.search(r"onnxruntime vs PyTorch: max abs difference (\S+)\)", caplog.text)
    assert logged and float(logged[1]) < 1e-4


@pytest.mark.slow
def test_bad_export_value_names_the_key_and_the_choices(melgan_ckpt, tmp_path):
    with pytest.raises(ConfigError, match=r"export=tflite; expected one of torchscript, onnx, all or null"):
        run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=tflite"))
