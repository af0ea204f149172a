"""infer.py: checkpoint + audio files in, resynthesised audio out at the model rate, as long as the input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONF, run_cli
from hydra import compose, initialize_config_dir

from audiogan.cli import exit_on_user_error
from audiogan.commands.export import TORCHSCRIPT_NAME
from audiogan.commands.infer import run

pytestmark = pytest.mark.slow  # every test runs a checkpoint trained through train.py

MODEL_RATE = 22050
HOP = 256


def _tone(seconds: float, rate: int, channels: int) -> np.ndarray:
    """[T, channels]: a different sine per channel plus a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    noise = 0.05 * np.random.default_rng(0).standard_normal((t.size, channels))
    return 0.4 * np.sin(2 * np.pi * 180 * np.outer(t, np.arange(1, channels + 1))) + noise


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with a 22,050 Hz mono wav, a nested 16 kHz stereo flac and a non-audio file.

    Values: (folder, {relative input path: (its length in samples, its sample rate)}).
    """
    root = tmp_path_factory.mktemp("inputs")
    sf.write(root / "clip.wav", _tone(0.7, MODEL_RATE, 1), MODEL_RATE)  # 15,434 samples: not whole hops
    (root / "nested" / "deeper").mkdir(parents=True)
    sf.write(root / "nested" / "deeper" / "stereo.flac", _tone(0.9, 16000, 2), 16000)
    (root / "notes.txt").write_text("not audio")
    return root, {"clip.wav": (15434, MODEL_RATE), "nested/deeper/stereo.flac": (14400, 16000)}


def infer_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("infer", overrides=list(overrides))


def check_output(path, expected: tuple[int, int]) -> None:
    """Written at the input's own rate and length, whatever the model's rate."""
    audio, rate = sf.read(path)
    assert (len(audio), rate) == expected
    assert np.isfinite(audio).all() and audio.std() > 1e-4


def test_cli_resynthesises_a_folder_recursively(melgan_ckpt, inputs, data_dir, tmp_path):
    root, lengths = inputs
    out = tmp_path / "out"
    result = run_cli(
        "infer.py",
        f"ckpt_path={melgan_ckpt}",
        f"input={root}",
        f"output_dir={out}",
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        "clip.wav",
        "nested/deeper/stereo.wav",
    ]
    for name, expected in lengths.items():
        check_output((out / name).with_suffix(".wav"), expected)
    assert "wrote 2 file(s)" in result.stdout and "real-time factor" in result.stdout


@pytest.mark.parametrize("name", ["clip.wav", "nested/deeper/stereo.flac"])
def test_single_file_keeps_its_length(melgan_ckpt, inputs, tmp_path, name):
    root, lengths = inputs
    summary = run(
        infer_cfg(f"ckpt_path={melgan_ckpt}", f"input={root / name}", f"output_dir={tmp_path}", "device=cpu")
    )
    assert summary.files == 1 and summary.skipped == 0
    length, rate = lengths[name]
    assert summary.audio_seconds == pytest.approx(length / rate, abs=1 / rate)
    check_output(tmp_path / Path(name).with_suffix(".wav").name, lengths[name])


@pytest.mark.parametrize("missing", ["input", "ckpt_path"])
def test_missing_path_exits_1_naming_it(melgan_ckpt, inputs, tmp_path, caplog, missing):
    paths = {"ckpt_path": melgan_ckpt, "input": inputs[0]} | {missing: tmp_path / "nowhere" / "x.wav"}
    cfg = infer_cfg(*(f"{key}={value}" for key, value in paths.items()), f"output_dir={tmp_path / 'out'}")
    with pytest.raises(SystemExit) as exit_info:
        exit_on_user_error(run)(cfg)
    assert exit_info.value.code == 1
    assert str(tmp_path / "nowhere" / "x.wav") in caplog.text
    assert not (tmp_path / "out").exists()


def test_export_writes_a_torchscript_generator(melgan_ckpt, tmp_path):
    assert run(infer_cfg(f"ckpt_path={melgan_ckpt}", f"output_dir={tmp_path}", "export=torchscript")) is None
    generator = torch.jit.load(str(tmp_path / TORCHSCRIPT_NAME))
    audio = generator(torch.randn(1, 80, 10))
    assert audio.shape == (1, 1, 10 * HOP) and torch.isfinite(audio).all()
