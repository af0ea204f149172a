"""A run that would overwrite another's checkpoints, online W&B without an account, and a checkpoint write
that fails: each stops at once in one line, and nothing already on disk is lost."""

from __future__ import annotations

import errno
import os

import pytest
import torch
from conftest import smoke
from omegaconf import OmegaConf, open_dict

from audiogan.commands.start_checks import check_wandb_login, refuse_to_overwrite
from audiogan.commands.train import run
from audiogan.errors import CheckpointWriteError, ConfigError
from audiogan.utils import atomic_checkpoint
from audiogan.utils.atomic_checkpoint import AtomicCheckpointIO


def test_a_run_dir_with_checkpoints_is_not_overwritten(tmp_path):
    refuse_to_overwrite(tmp_path, overwrite=False)  # nothing there yet
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"run 1")
    with pytest.raises(
        ConfigError, match=r"already holds checkpoints \(last.ckpt\).*ckpt_path=last.*overwrite=true"
    ):
        refuse_to_overwrite(tmp_path, overwrite=False)
    refuse_to_overwrite(tmp_path, overwrite=True)


@pytest.mark.slow  # trains the toy family twice
def test_a_second_fresh_run_in_the_same_dir_is_refused_before_it_writes(compose_cfg, tmp_path):
    run(compose_cfg(*smoke("toy")))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    before = (last.read_bytes(), (tmp_path / "run" / "config.yaml").read_text())
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        run(compose_cfg(*smoke("toy"), "seed=7"))
    assert (last.read_bytes(), (tmp_path / "run" / "config.yaml").read_text()) == before
    run(compose_cfg(*smoke("toy"), "ckpt_path=last"))  # carrying it on is allowed


@pytest.fixture
def no_wandb_account(monkeypatch, tmp_path):
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc


def wandb_cfg(offline: bool):
    logger = {"_target_": "lightning.pytorch.loggers.WandbLogger", "offline": offline}
    return OmegaConf.create({"logger": {"wandb": logger}})


def test_online_wandb_without_an_account_stops_saying_how_to_log_in(no_wandb_account, monkeypatch, tmp_path):
    check_wandb_login(wandb_cfg(offline=True))  # the default needs no account
    with pytest.raises(ConfigError, match=r"logger.wandb.offline=false .* run `wandb login`"):
        check_wandb_login(wandb_cfg(offline=False))
    (tmp_path / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    os.chmod(tmp_path / ".netrc", 0o600)
    check_wandb_login(wandb_cfg(offline=False))  # `wandb login` leaves its key there
    (tmp_path / ".netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "abc")
    check_wandb_login(wandb_cfg(offline=False))


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_checkpoint_write_names_the_file_and_the_free_space(monkeypatch, tmp_path):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, path)
    monkeypatch.setattr(atomic_checkpoint.torch, "save", _disk_full)
    with pytest.raises(
        CheckpointWriteError, match=rf"could not write checkpoint {path} .*No space left.* MiB free"
    ):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}  # the previous one, whole
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left


@pytest.mark.slow  # trains the toy family
def test_training_stops_at_the_first_failed_write(compose_cfg, monkeypatch, tmp_path):
    monkeypatch.setattr(atomic_checkpoint.torch, "save", _disk_full)
    cfg = compose_cfg(*smoke("toy"))
    with open_dict(cfg):
        cfg.model.task.schedule.max_batches = 50  # the first checkpoint is due at batch 2's validation
        cfg.trainer.val_check_interval = 2
    with pytest.raises(CheckpointWriteError, match="last.ckpt|best"):
        run(cfg)
    assert not list((tmp_path / "run" / "checkpoints").glob("*"))
