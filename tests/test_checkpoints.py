"""Checkpoints that travel alone, older ones that still load, damaged ones refused by name, fine-tuning."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import TINY_MELGAN, run_in_process

from audiogan.commands.train import build_task
from audiogan.errors import ConfigError, DamagedCheckpointError
from audiogan.runs.checkpoints import RUN_CONFIG_KEY, init_from, load_task, read_checkpoint
from audiogan.runs.resume import resume_checkpoint

pytestmark = pytest.mark.slow  # every test starts from a run trained through train.py


@pytest.fixture
def alone(smoke_run, tmp_path):
    """``alone(family)``: the family's smoke checkpoint copied alone into an empty folder."""

    def _copy(family: str):
        folder = tmp_path / f"{family}_alone"
        folder.mkdir()
        return shutil.copy(smoke_run(family) / "checkpoints" / "last.ckpt", folder / "model.ckpt")

    return _copy


def test_commands_use_a_checkpoint_copied_alone(alone, data_dir, tmp_path):
    rate = 22050
    sf.write(tmp_path / "speech.wav", 0.3 * np.sin(np.arange(rate // 2) / 9.0), rate)
    melgan, specgan, vc = alone("melgan"), alone("specgan"), alone("voice_conversion")
    commands = [
        ("infer.py", f"ckpt_path={melgan}", f"input={tmp_path / 'speech.wav'}", "device=cpu"),
        (
            "eval.py",
            f"ckpt_path={melgan}",
            f"+data.root={data_dir}",
            "trainer.enable_progress_bar=false",
            "+trainer.limit_test_batches=2",  # two of the split's clips
        ),
        ("sample.py", f"ckpt_path={specgan}", "n=2", "griffin_lim_iters=2", "device=cpu"),
        (
            "convert.py",
            f"ckpt_path={vc}",
            f"input={tmp_path / 'speech.wav'}",
            "griffin_lim_iters=2",
            "device=cpu",
        ),
    ]
    for command in commands:
        result = run_in_process(*command, data_dir=data_dir, log_dir=tmp_path)
        assert result.returncode == 0, result.stdout[-3000:]
    # each command wrote its outputs beside the lone checkpoint
    assert {p.name for p in melgan.parent.iterdir()} == {"model.ckpt", "infer", "eval"}
    assert list((specgan.parent / "samples").glob("*/sample_0001.wav"))
    assert list((vc.parent / "convert").glob("*/speech.wav"))


def test_a_checkpoint_written_before_runs_carried_their_config_loads_from_its_run_dir(smoke_run, tmp_path):
    run = shutil.copytree(smoke_run("melgan"), tmp_path / "old_run")
    old = run / "checkpoints" / "last.ckpt"
    contents = torch.load(old, weights_only=False)
    del contents[RUN_CONFIG_KEY]
    torch.save(contents, old)
    assert type(load_task(old)).__name__ == "MelGANTask"
    shutil.copy(old, tmp_path / "lone.ckpt")
    with pytest.raises(FileNotFoundError, match="carries no run config"):
        load_task(tmp_path / "lone.ckpt")


@pytest.fixture
def damaged(smoke_run, tmp_path):
    """A truncated and an empty copy of a smoke checkpoint."""
    data = (smoke_run("melgan") / "checkpoints" / "last.ckpt").read_bytes()
    (tmp_path / "truncated.ckpt").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.ckpt").write_bytes(b"")
    return tmp_path / "truncated.ckpt", tmp_path / "empty.ckpt"


def test_damaged_checkpoints_are_refused_in_one_line_naming_the_file(damaged, data_dir, tmp_path):
    truncated, empty = damaged
    with pytest.raises(DamagedCheckpointError, match=rf"{truncated} is damaged \(\d+ bytes"):
        read_checkpoint(truncated)
    with pytest.raises(DamagedCheckpointError, match=rf"{empty} is empty \(0 bytes\)"):
        read_checkpoint(empty)
    sf.write(tmp_path / "x.wav", np.zeros(4096), 22050)
    for command in (("train.py", *TINY_MELGAN), ("infer.py", f"input={tmp_path / 'x.wav'}")):
        result = run_in_process(*command, f"ckpt_path={truncated}", data_dir=data_dir, log_dir=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stdout
        assert f"DamagedCheckpointError: checkpoint {truncated} is damaged" in result.stdout


def test_last_skips_a_damaged_last_checkpoint_for_the_newest_intact_one(smoke_run, damaged, tmp_path, caplog):
    run = shutil.copytree(smoke_run("melgan"), tmp_path / "run")
    (best,) = (run / "checkpoints").glob("best-*.ckpt")
    for bad in damaged:
        shutil.copy(bad, run / "checkpoints" / "last.ckpt")
        with caplog.at_level(logging.WARNING, logger="audiogan.runs.resume"):
            assert resume_checkpoint("last", str(run)) == str(best)
        assert "skipping checkpoint" in caplog.text and "last.ckpt" in caplog.text
    best.unlink()
    with pytest.raises(DamagedCheckpointError, match="no intact checkpoint"):
        resume_checkpoint("last", str(run))


def test_init_from_copies_both_networks_and_refuses_other_families_and_shapes(smoke_run, compose_cfg):
    ckpt = smoke_run("melgan") / "checkpoints" / "last.ckpt"
    task = build_task(compose_cfg(*TINY_MELGAN))
    init_from(task, ckpt)
    trained = read_checkpoint(ckpt)["state_dict"]
    for name, value in task.state_dict().items():
        if name.startswith(("generator.", "discriminator.")):
            torch.testing.assert_close(value, trained[name])
    assert task.counters.batches == 0  # a fresh run: counters, optimizers and schedule start over
    with pytest.raises(ConfigError, match=r"is a MelGANTask checkpoint; this run trains a SpecGANTask"):
        init_from(build_task(compose_cfg("experiment=specgan_smoke")), ckpt)
    wider = build_task(compose_cfg(*TINY_MELGAN, "model.task.generator.ngf=8"))
    with pytest.raises(ConfigError, match=r"generator\.\S+ has shape \([\d, ]+\) there and \([\d, ]+\) here"):
        init_from(wider, ckpt)


def test_train_with_init_from_starts_a_fresh_run_from_the_weights(smoke_run, data_dir, tmp_path):
    ckpt = smoke_run("melgan") / "checkpoints" / "last.ckpt"
    result = run_in_process(
        "train.py", *TINY_MELGAN, f"init_from={ckpt}", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"generator and discriminator initialised from {ckpt}" in result.stdout
    (new,) = tmp_path.glob("melgan/runs/*/checkpoints/last.ckpt")
    assert torch.load(new, weights_only=False)["gan_engine"]["counters"]["batches"] == 2
