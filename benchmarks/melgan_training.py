"""MelGAN training speed: seconds per training batch of the real task through Lightning.

One batch is one D update and one G update (with feature matching) of the default full-size MelGAN,
batch 16 x 8192 samples, exactly as ``python train.py`` runs it, on random audio (data loading is
never the bottleneck here). Run: python -m benchmarks.melgan_training
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader, Dataset

from audiogan.train import build_task
from benchmarks.timing import device_name, summary, tame_malloc

CONF = Path(__file__).resolve().parents[1] / "conf"


class RandomAudio(Dataset):
    def __init__(self, batches: int, batch_size: int, segment: int):
        self.n, self.segment = batches * batch_size, segment

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"audio": 0.5 * torch.rand(self.segment, generator=torch.Generator().manual_seed(i)) - 0.25}


class BatchTimer(L.Callback):
    """Wall time of every training batch (synchronised on GPU)."""

    def __init__(self):
        self.times: list[float] = []

    def _sync(self, module):
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._sync(module)
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self._sync(module)
        self.times.append(time.perf_counter() - self.start)


def bench_melgan_training(
    device: str = "cpu",
    batches: int = 8,
    warmup: int = 2,
    batch_size: int = 16,
    segment: int = 8192,
    threads: int = 2,
    precision: str = "32-true",
) -> dict:
    """Median seconds per batch (and batches per second) after ``warmup`` batches."""
    malloc = tame_malloc() if device == "cpu" else None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["paths.output_dir=/tmp", f"model.batch_size={batch_size}"])
    task = build_task(cfg)
    timer = BatchTimer()
    trainer = L.Trainer(
        accelerator=device,
        devices=1,
        precision=precision,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        num_sanity_val_steps=0,
    )
    load_before = os.getloadavg()
    loader = DataLoader(RandomAudio(warmup + batches, batch_size, segment), batch_size=batch_size)
    trainer.fit(task, train_dataloaders=loader)
    measured = timer.times[warmup:]
    return {
        "benchmark": "melgan_training",
        "seconds_per_batch": summary(measured),
        "batches_per_second": 1.0 / statistics.median(measured),
        "samples_per_second": batch_size * segment / statistics.median(measured),
        "batch_size": batch_size,
        "segment_samples": segment,
        "batches_timed": len(measured),
        "precision": precision,
        "threads": threads,
        "device": device,
        "device_name": device_name(torch.device(device)),
        "torch": torch.__version__,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "malloc": malloc,
    }


if __name__ == "__main__":
    print(json.dumps(bench_melgan_training("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
