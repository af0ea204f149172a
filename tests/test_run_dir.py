"""Reading a run dir back: family, budget, validation curves by batch and second, checkpoints and samples."""

from __future__ import annotations

import shutil

import pytest

from audiogan.runs.run_dir import RunDir, RunDirError

pytestmark = pytest.mark.slow  # reads what train.py leaves (the session's smoke run)


def test_a_smoke_run_reads_back_with_its_validations_checkpoints_and_samples(smoke_run):
    run = RunDir(smoke_run("melgan"))
    assert (run.family, run.data, run.budget) == ("melgan", "tiny_speech", 2)
    (validation,) = run.validations  # the smoke budget's one validation (tests skip the one at batch 0)
    assert validation.batches == 2 and run.batches_reached == 2 and validation.seconds > 0
    assert {"val/mel_l1", "val/mel_l1_griffinlim"} <= validation.scores.keys()
    assert all("train/" not in key for key in validation.scores)
    assert run.checkpoint("best").name.startswith("best-") and run.checkpoint("last").name == "last.ckpt"
    assert run.sample_batches() == [2]
    assert (
        run.samples_at("best")
        == run.samples_at("last")
        == run.samples_at(7)
        == run.path / "samples" / "batch00000002"
    )
    with pytest.raises(RunDirError, match="no samples at or before batch 1"):
        run.samples_at(1)


def test_a_folder_that_is_not_a_run_or_lacks_what_is_asked_is_named(smoke_run, tmp_path):
    with pytest.raises(RunDirError, match=rf"{tmp_path} is not a run dir: expected .*config.yaml"):
        RunDir(tmp_path)
    copy = RunDir(
        shutil.copytree(smoke_run("melgan"), tmp_path / "run", ignore=shutil.ignore_patterns("*.ckpt"))
    )
    with pytest.raises(RunDirError, match=r"checkpoints holds no best\*.ckpt"):
        copy.checkpoint("best")
    with pytest.raises(RunDirError, match=r"checkpoint not found: .*step9.ckpt"):
        copy.checkpoint("step9.ckpt")
