"""Training speed of a family's real task through Lightning, at full size, on random audio.

MelGAN: one batch = one D and one G update (with feature matching), 16 x 8192 samples.
SpecGAN: one 5:1 cycle = five batches of 64 x 16384 samples, each a D update with gradient penalty,
the fifth also a G update. Denoiser: each of its three stages run alone (``only_stage``); stages 1-2 are one
G update per batch, stage 3 a 2:1 cycle of two batches; 8 x 32000 samples on a GPU, 2 x 16000 on the CPU
(a full-size step there takes minutes). Data loading is never the bottleneck here, so the audio is random.
Run: python -m benchmarks.training [melgan|specgan|hifigan_denoise]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from audiogan.train import build_task
from audiogan.utils.config import compose_config
from benchmarks.timing import device_name, summary, tame_malloc

CONF = Path(__file__).resolve().parents[1] / "conf"


class RandomAudio(Dataset):
    """Uniform noise in [-0.25, 0.25) under each of ``keys`` (the items a family's datasets yield)."""

    def __init__(self, batches: int, batch_size: int, segment: int, keys: tuple[str, ...] = ("audio",)):
        self.n, self.segment, self.keys = batches * batch_size, segment, keys

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        generator = torch.Generator().manual_seed(i)
        return {key: 0.5 * torch.rand(self.segment, generator=generator) - 0.25 for key in self.keys}


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


# (model, stage) -> (batch size, samples per item, batches per update cycle, cycles timed, warm-up cycles)
SETTINGS = {
    ("melgan", None): (16, 8192, 1, 8, 2),
    ("specgan", None): (64, 16384, 5, 2, 1),
    ("hifigan_denoise", "wavenet"): (8, 32000, 1, 8, 2),
    ("hifigan_denoise", "postnet"): (8, 32000, 1, 8, 2),
    ("hifigan_denoise", "adversarial"): (8, 32000, 2, 4, 1),
}
CPU_SETTINGS = {
    ("hifigan_denoise", stage): (2, 16000, n, 2, 1)
    for stage, n in [("wavenet", 1), ("postnet", 1), ("adversarial", 2)]
}
DENOISER_STAGES = ("wavenet", "postnet", "adversarial")
KEYS = {"hifigan_denoise": ("clean", "noisy")}


def bench_training(
    model: str = "melgan",
    device: str = "cpu",
    threads: int = 2,
    precision: str = "32-true",
    stage: str | None = None,
) -> dict:
    """Median seconds per update cycle (one batch for 1:1, five for SpecGAN's 5:1) after warm-up.

    ``stage`` names one stage of a curriculum to time alone (the denoiser's).
    """
    settings = CPU_SETTINGS if device == "cpu" else {}
    batch_size, segment, cycle, cycles, warmup_cycles = settings.get((model, stage), SETTINGS[(model, stage)])
    malloc = tame_malloc() if device == "cpu" else None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    overrides = [f"model={model}", "paths.output_dir=/tmp", f"model.batch_size={batch_size}"]
    overrides += [f"model.task.schedule.only_stage={stage}"] if stage else []
    cfg = compose_config(CONF, overrides)
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
    dataset = RandomAudio((warmup_cycles + cycles) * cycle, batch_size, segment, KEYS.get(model, ("audio",)))
    loader = DataLoader(dataset, batch_size=batch_size)
    if getattr(task, "moments", None) is not None:  # SpecGAN normalises with its training data's moments
        task.moments.compute([torch.stack([dataset[i]["audio"] for i in range(batch_size)])], task.features)
    trainer.fit(task, train_dataloaders=loader)
    timed = timer.times[warmup_cycles * cycle :]
    per_cycle = [sum(timed[i : i + cycle]) for i in range(0, len(timed), cycle)]
    return {
        "benchmark": f"{model}_training" + (f"_{stage}" if stage else ""),
        "seconds_per_cycle": summary(per_cycle),
        "batches_per_cycle": cycle,
        "cycles_per_second": 1.0 / statistics.median(per_cycle),
        "samples_per_second": cycle * batch_size * segment / statistics.median(per_cycle),
        "batch_size": batch_size,
        "segment_samples": segment,
        "cycles_timed": len(per_cycle),
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
    family = sys.argv[1] if len(sys.argv) > 1 else "melgan"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for stage in DENOISER_STAGES if family == "hifigan_denoise" else (None,):
        print(json.dumps(bench_training(family, device, stage=stage), indent=2))
