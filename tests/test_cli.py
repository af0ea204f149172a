"""train.py as a user runs it: outputs of a run, config errors, multirun, DDP on CPU, loggers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from conftest import TINY_MELGAN, run_cli

SHORT = [*TINY_MELGAN, "model.task.schedule.max_batches=2", "trainer.val_check_interval=2"]


def _runs(log_dir: Path, kind: str = "runs") -> list[Path]:
    return sorted(p for p in (log_dir / "melgan" / kind).iterdir() if p.is_dir())


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def test_train_leaves_config_checkpoint_logs_and_samples(data_dir, tmp_path):
    result = run_cli("train.py", *SHORT, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (run_dir,) = _runs(tmp_path)
    assert "max_batches: 2" in (run_dir / "config.yaml").read_text()
    assert "${" not in (run_dir / "config.yaml").read_text()  # resolved
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["gan_engine"]["counters"]["batches"] == 2
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    rows = _metrics(run_dir)
    assert any(row["val/mel_l1"] for row in rows) and any(row["val/mel_l1_griffinlim"] for row in rows)
    assert any(row["train/d_loss"] for row in rows)
    samples = run_dir / "samples" / "batch00000002"
    assert (samples / "clip0_generated.wav").stat().st_size > 44
    assert (samples / "clip0_reference_mel.png").stat().st_size > 1000
    assert (run_dir / "train.log").exists()


def test_wrong_data_kind_fails_at_once_saying_what_the_model_needs(data_dir, tmp_path):
    result = run_cli("train.py", *SHORT, "data.provides=[parallel]", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 1
    assert "model=melgan needs data of kind 'waveform'" in result.stdout
    assert "data=tiny_speech provides ['parallel']" in result.stdout


def test_wrong_option_name_lists_the_valid_ones(data_dir, tmp_path):
    result = run_cli("train.py", "loss=hinj", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'loss/hinj'" in result.stdout
    assert "hinge" in result.stdout and "lsgan" in result.stdout


def test_config_typo_names_the_key(data_dir, tmp_path):
    result = run_cli("train.py", "trainer.max_epoch=3", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode != 0
    assert "max_epoch" in result.stdout


def test_missing_corpus_root_names_path_and_layout(data_dir, tmp_path):
    missing = tmp_path / "nowhere" / "LJSpeech-1.1"
    result = run_cli(
        "train.py", *SHORT, "data=ljspeech", f"data.root={missing}", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 1
    assert str(missing) in result.stdout and "metadata.csv" in result.stdout


def test_multirun_sweeps_two_jobs_into_separate_dirs(data_dir, tmp_path):
    result = run_cli("train.py", "-m", *SHORT, "loss=lsgan,hinge", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (sweep,) = _runs(tmp_path, "multiruns")
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    assert "HingeLoss" in (jobs[1] / "config.yaml").read_text()
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").exists()


SPECGAN = [
    "model=specgan",
    "data=tiny_speech_digits",
    "model.task.generator.dim=4",
    "model.task.discriminator.dim=4",
    "model.batch_size=4",
    "model.val_clips=2",
    "model.task.samples_to_log=2",
    "print_config=false",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
]


@pytest.mark.parametrize(
    ("family", "overrides", "counters"),
    [
        ("melgan", [*SHORT, "model.task.schedule.n_g=2"], {"batches": 2, "d_updates": 2, "g_updates": 4}),
        (
            "specgan",
            [*SPECGAN, "model.task.schedule.max_batches=10"],
            {"batches": 10, "d_updates": 10, "g_updates": 2},
        ),
    ],
)
def test_ddp_on_two_cpu_processes_keeps_the_schedule(data_dir, tmp_path, family, overrides, counters):
    result = run_cli(
        "train.py",
        *overrides,
        "trainer=ddp_cpu",
        "trainer.val_check_interval=2",
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (run_dir,) = sorted(
        p for p in (tmp_path / family / "runs").iterdir()
    )  # both ranks wrote into one run dir
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["gan_engine"]["counters"] == {**counters, "d_skipped": 0}


@pytest.mark.parametrize("logger", ["tensorboard", "wandb"])
def test_loggers_write_scalars_and_media(data_dir, tmp_path, logger):
    result = run_cli("train.py", *SHORT, f"logger={logger}", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (run_dir,) = _runs(tmp_path)
    if logger == "tensorboard":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        (events,) = (run_dir / "tensorboard").glob("events.out.tfevents.*")
        accumulator = EventAccumulator(str(events), size_guidance={"audio": 0, "images": 0})
        accumulator.Reload()
        tags = accumulator.Tags()
        assert "val/mel_l1" in tags["scalars"] and "train/d_loss" in tags["scalars"]
        assert any(t.startswith("samples/") for t in tags["audio"])
        assert any(t.startswith("images/") for t in tags["images"])
    else:
        (offline_run,) = (run_dir / "wandb").glob("offline-run-*")
        media = [p.suffix for p in (offline_run / "files" / "media").rglob("*") if p.is_file()]
        assert ".wav" in media and ".png" in media
        (records,) = offline_run.glob("run-*.wandb")
        assert b"optimized_metric" in records.read_bytes()  # the full run config reached W&B
