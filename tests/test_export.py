"""infer.py export=...: files written whole from a checkpoint, bad values named (all: test_every_family)."""

from __future__ import annotations

import logging
import re

import onnx
import pytest
import torch
from test_infer import infer_cfg

from audiogan.commands.export import ONNX_NAME
from audiogan.commands.infer import run
from audiogan.errors import ConfigError
from audiogan.export import run_onnx


@pytest.mark.slow
def test_infer_exports_onnx_from_a_checkpoint(melgan_ckpt, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="audiogan.commands.export")
    assert run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=onnx")) is None
    assert [p.name for p in tmp_path.iterdir()] == [ONNX_NAME]  # complete: no temporary file left beside
    onnx.checker.check_model(str(tmp_path / ONNX_NAME), full_check=True)
    audio = run_onnx(tmp_path / ONNX_NAME, torch.randn(1, 80, 10))
    assert audio.shape == (1, 1, 10 * 256) and torch.isfinite(audio).all()
    logged = re.search(r"onnxruntime vs PyTorch: max abs difference (\S+)\)", caplog.text)
    assert logged and float(logged[1]) < 1e-4


@pytest.mark.slow
def test_bad_export_value_names_the_key_and_the_choices(melgan_ckpt, tmp_path):
    with pytest.raises(
        ConfigError, match=r"export=tflite; expected one of torchscript, onnx, all, official or null"
    ):
        run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=tflite"))


@pytest.mark.slow  # trains the session's MelGAN
def test_export_official_writes_what_the_official_generator_loads(melgan_ckpt, tmp_path):
    """netG.pt under melgan-neurips' names, shapes and order: Generator(80, 4, 3).load_state_dict(strict=True)
    needs exactly these (the smoke run's ngf is 4)."""
    from official_files import official_melgan_generator

    run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=official"))
    written = torch.load(tmp_path / "netG.pt", weights_only=True)
    expected = official_melgan_generator(80, 4, 3)
    assert list(written) == list(expected)
    assert all(written[k].shape == v.shape for k, v in expected.items())
