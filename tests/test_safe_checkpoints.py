"""Opening a file runs nothing from it: a crafted pickle is refused naming the file and the global, and a
config that names a class outside the trusted modules is refused naming the key and the target."""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from conftest import run_in_process

import audiogan
from audiogan.errors import UnsafeFileError
from audiogan.runs.checkpoints import RUN_CONFIG_KEY, check_targets, init_from, load_task, read_checkpoint
from audiogan.utils.tensor_files import load_tensor_file


class _RunsACommand:
    """Pickles as a call of os.system: what a crafted checkpoint holds."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def crafted(tmp_path):
    """(a checkpoint whose unpickling would create ``marker``, marker)."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": _RunsACommand(marker)}, path)
    return path, marker


def test_the_reader_refuses_a_pickle_that_calls_a_function(crafted):
    path, marker = crafted
    with pytest.raises(
        UnsafeFileError, match=r"evil.ckpt asks to load posix.system when opened.*nothing of it ran"
    ):
        load_tensor_file(path)
    for opener in (read_checkpoint, load_task, audiogan.load):
        with pytest.raises(UnsafeFileError, match="posix.system"):
            opener(path)
    assert not marker.exists()


def test_init_from_refuses_it_too(crafted, compose_cfg):
    from conftest import smoke

    from audiogan.commands.train import build_task

    path, marker = crafted
    with pytest.raises(UnsafeFileError, match="posix.system"):
        init_from(build_task(compose_cfg(*smoke("toy"))), path)
    assert not marker.exists()


@pytest.mark.slow  # starts the commands
@pytest.mark.parametrize("command", ["train.py", "infer.py"])
def test_the_commands_refuse_it_in_one_line(crafted, data_dir, tmp_path, command):
    path, marker = crafted
    args = {
        "train.py": [f"ckpt_path={path}", "experiment=melgan_smoke"],
        "infer.py": [f"ckpt_path={path}", "export=torchscript"],
    }
    result = run_in_process(command, *args[command], data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 1 and "UnsafeFileError:" in result.stdout and "Traceback" not in result.stdout
    assert not marker.exists()


def test_a_config_naming_an_untrusted_class_is_refused_by_key():
    check_targets({"generator": {"_target_": "audiogan.models.melgan.MelGANGenerator"}}, "ckpt")
    check_targets({"optim": [{"_target_": "torch.optim.Adam"}]}, "ckpt")
    with pytest.raises(UnsafeFileError, match=r"ckpt.model.task.loss\[1\] names _target_='os.system'"):
        check_targets({"model": {"task": {"loss": [{}, {"_target_": "os.system"}]}}}, "ckpt")
    with pytest.raises(UnsafeFileError, match="audiogan_evil.x"):
        check_targets({"_target_": "audiogan_evil.x"}, "ckpt")  # a module that only starts like ours


def test_a_checkpoint_whose_config_names_an_untrusted_class_builds_nothing(tmp_path):
    fixture = shutil.copy("tests/fixtures/v0_1_checkpoints/melgan.ckpt", tmp_path / "model.ckpt")
    contents = torch.load(fixture, weights_only=True)
    contents["hyper_parameters"]["generator"]["_target_"] = "subprocess.call"
    torch.save(contents, fixture)
    with pytest.raises(UnsafeFileError, match=r"hyper_parameters.generator names _target_='subprocess.call'"):
        audiogan.load(fixture)


def test_a_family_of_ones_own_is_trusted_by_the_documented_variable(monkeypatch):
    config = {"task": {"_target_": "my_family.tasks.MyTask"}}
    monkeypatch.setenv("AUDIOGAN_TRUSTED_TARGETS", "toy_family, my_family")
    check_targets(config, "ckpt")
    monkeypatch.setenv("AUDIOGAN_TRUSTED_TARGETS", "")
    with pytest.raises(UnsafeFileError, match="AUDIOGAN_TRUSTED_TARGETS=<its module>"):
        check_targets(config, "ckpt")


def test_the_run_config_a_checkpoint_carries_is_checked_too(tmp_path):
    fixture = shutil.copy("tests/fixtures/v0_1_checkpoints/melgan.ckpt", tmp_path / "model.ckpt")
    contents = torch.load(fixture, weights_only=True)
    contents[RUN_CONFIG_KEY]["data"]["_target_"] = "builtins.exec"
    torch.save(contents, fixture)
    with pytest.raises(UnsafeFileError, match=r"audiogan_run_config.data names _target_='builtins.exec'"):
        read_checkpoint(fixture)
