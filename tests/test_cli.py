"""train.py as a user runs it: outputs of a run, config errors, multirun, DDP on CPU, loggers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONF, TINY_MELGAN, run_in_process
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from matplotlib.image import imread
from omegaconf import read_write

from audiogan.runs.resolvers import compose_config, wandb_group


def _runs(log_dir: Path, kind: str = "runs") -> list[Path]:
    return sorted(p for p in (log_dir / "melgan" / kind).iterdir() if p.is_dir())


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_train_leaves_config_checkpoint_logs_and_samples(melgan_ckpt):
    run_dir = melgan_ckpt.parents[1]  # train.py for two batches (TINY_MELGAN), run once for the session
    assert "max_batches: 2" in (run_dir / "config.yaml").read_text()
    assert "${" not in (run_dir / "config.yaml").read_text()  # resolved
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["gan_engine"]["counters"]["batches"] == 2
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    rows = _metrics(run_dir)
    assert any(row["val/mel_l1"] for row in rows) and any(row["val/mel_l1_griffinlim"] for row in rows)
    assert any(row["train/d_loss"] for row in rows)
    samples = run_dir / "samples" / "batch00000002"
    generated, reference = (sf.read(samples / f"clip0_{name}.wav") for name in ("generated", "reference"))
    assert generated[1] == reference[1] == 22050 and len(generated[0]) == len(reference[0]) > 0
    assert np.abs(generated[0]).max() > 0 and np.abs(reference[0]).max() > 0.1  # audible speech
    assert imread(samples / "clip0_spectrograms.png").ndim == 3  # reference, generated, Griffin-Lim stacked
    assert (run_dir / "train.log").exists()


@pytest.mark.slow
def test_wrong_data_kind_fails_at_once_saying_what_the_model_needs(data_dir, tmp_path):
    result = run_in_process(
        "train.py", *TINY_MELGAN, "data.provides=[parallel]", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 1
    assert "model=melgan needs data of kind 'waveform'" in result.stdout
    assert "data=tiny_speech provides ['parallel']" in result.stdout


@pytest.mark.slow
def test_wrong_option_name_lists_the_valid_ones(data_dir, tmp_path):
    result = run_in_process("train.py", "loss=hinj", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'loss/hinj'" in result.stdout
    assert "hinge" in result.stdout and "lsgan" in result.stdout


@pytest.mark.slow
def test_config_typo_names_the_key(data_dir, tmp_path):
    result = run_in_process("train.py", "trainer.max_epoch=3", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode != 0
    assert "max_epoch" in result.stdout


@pytest.mark.slow
def test_missing_corpus_root_names_path_and_layout(data_dir, tmp_path):
    missing = tmp_path / "nowhere" / "LJSpeech-1.1"
    result = run_in_process(
        "train.py",
        *TINY_MELGAN,
        "data=ljspeech",
        f"data.root={missing}",
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 1
    assert str(missing) in result.stdout and "metadata.csv" in result.stdout


@pytest.mark.slow
def test_multirun_sweeps_two_jobs_into_separate_dirs(data_dir, tmp_path):
    result = run_in_process(
        "train.py", "-m", *TINY_MELGAN, "loss=lsgan,hinge", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (sweep,) = _runs(tmp_path, "multiruns")
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    assert "HingeLoss" in (jobs[1] / "config.yaml").read_text()
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").exists()


@pytest.mark.slow
def test_tensorboard_gets_scalars_and_media(melgan_ckpt):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (melgan_ckpt.parents[1] / "tensorboard").glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events), size_guidance={"audio": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    assert "val/mel_l1" in tags["scalars"] and "train/d_loss" in tags["scalars"]
    assert any(t.startswith("samples/") for t in tags["audio"])
    assert any(t.startswith("images/") for t in tags["images"])


@pytest.mark.slow
def test_wandb_offline_logs_media_and_a_sample_table_then_resumes_the_same_run(data_dir, tmp_path):
    result = run_in_process("train.py", *TINY_MELGAN, "logger=wandb", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (run_dir,) = _runs(tmp_path)
    (offline_run,) = (run_dir / "wandb").glob("offline-run-*")
    media = [p for p in (offline_run / "files" / "media").rglob("*") if p.is_file()]
    assert {".wav", ".png"} <= {p.suffix for p in media}
    (table,) = [p for p in media if p.name.endswith(".table.json")]
    columns = json.loads(table.read_text())["columns"]
    assert columns[:2] == ["batch", "sample"] and {"generated", "reference", "spectrograms"} <= set(columns)
    (records,) = offline_run.glob("run-*.wandb")
    record = records.read_bytes()
    assert b"optimized_metric" in record  # the full run config reached W&B
    assert b"tiny_speech" in record and b"melgan" in record  # tags and group

    # the same command carried on with ckpt_path=last logs to the same W&B run
    result = run_in_process(
        "train.py", *TINY_MELGAN, "logger=wandb", "ckpt_path=last", data_dir=data_dir, log_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert _runs(tmp_path) == [run_dir]
    ids = {p.name.rsplit("-", 1)[1] for p in (run_dir / "wandb").glob("offline-run-*")}
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 2 and ids == {
        offline_run.name.rsplit("-", 1)[1]
    }


def test_wandb_groups_each_multirun_apart_from_single_runs(data_dir, tmp_path):
    cfg = compose_config(CONF, [f"paths.log_dir={tmp_path}", "logger=wandb"])
    assert cfg.logger.wandb.group == "melgan" and cfg.logger.wandb.tags == ["melgan", "tiny_speech"]
    hydra_cfg = HydraConfig.get()
    with read_write(hydra_cfg):  # as Hydra sets it for each job of `train.py -m ...`
        hydra_cfg.mode = RunMode.MULTIRUN
        hydra_cfg.sweep.dir = str(tmp_path / "melgan" / "multiruns" / "2026-11-21_10-00-00_abc123")
    assert wandb_group("melgan") == "melgan-2026-11-21_10-00-00_abc123"
