"""Training speed of a family's real task through Lightning, at full size, on random audio.

MelGAN: one batch = one D and one G update (with feature matching), 16 x 8192 samples.
SpecGAN: one 5:1 cycle = five batches of 64 x 16384 samples, each a D update with gradient penalty,
the fifth also a G update. Denoiser: each of its three stages run alone (``only_stage``); stages 1-2 are one
G update per batch, stage 3 a 2:1 cycle of two batches; 8 x 32000 samples on a GPU, 2 x 16000 on the CPU
(a full-size step there takes minutes). Voice conversion: one batch = one D and two G updates on 8 pairs of
80 x 128 dB mels (2 on the CPU), its D-skip threshold off so every batch does the same work. Data loading is
never the bottleneck here, so the inputs are random. ``samples_per_second`` counts training audio (waveform
samples, or mel frames x hop); ``audio_seconds_per_second`` is the same in seconds, comparable across rates.
Run: python -m benchmarks.training [melgan|specgan|hifigan_denoise|voice_conversion]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from audiogan.train import build_task, compile_networks
from audiogan.utils.config import compose_config
from benchmarks.timing import bench_conditions, summary

CONF = Path(__file__).resolve().parents[1] / "conf"


class RandomItems(Dataset):
    """Uniform noise in [-0.25, 0.25) of ``shape`` under each of ``keys`` (the items a family's datasets
    yield: waveforms [samples] or mels [n_mels, frames])."""

    def __init__(self, items: int, shape: tuple[int, ...], keys: tuple[str, ...] = ("audio",)):
        self.n, self.shape, self.keys = items, shape, keys

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        generator = torch.Generator().manual_seed(i)
        return {key: 0.5 * torch.rand(self.shape, generator=generator) - 0.25 for key in self.keys}


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


# (model, stage) -> (batch size, item shape, batches per update cycle, cycles timed, warm-up cycles)
SETTINGS = {
    ("melgan", None): (16, (8192,), 1, 8, 2),
    ("specgan", None): (64, (16384,), 5, 2, 1),
    ("hifigan_denoise", "wavenet"): (8, (32000,), 1, 8, 2),
    ("hifigan_denoise", "postnet"): (8, (32000,), 1, 8, 2),
    ("hifigan_denoise", "adversarial"): (8, (32000,), 2, 4, 1),
    ("voice_conversion", None): (8, (80, 128), 1, 8, 2),
}
CPU_SETTINGS = {
    **{
        ("hifigan_denoise", stage): (2, (16000,), n, 2, 1)
        for stage, n in [("wavenet", 1), ("postnet", 1), ("adversarial", 2)]
    },
    ("voice_conversion", None): (2, (80, 128), 1, 3, 1),
}
DENOISER_STAGES = ("wavenet", "postnet", "adversarial")
KEYS = {"hifigan_denoise": ("clean", "noisy"), "voice_conversion": ("source_mel", "target_mel")}
# every batch of a timed cycle does the same updates
OVERRIDES = {"voice_conversion": ["model.task.schedule.d_loss_threshold=null"]}
FAMILIES = ("melgan", "specgan", "hifigan_denoise", "voice_conversion")


def runs_of(family: str) -> list[str | None]:
    """The stages timed for a family: each stage of the denoiser's curriculum, the whole task otherwise."""
    return list(DENOISER_STAGES) if family == "hifigan_denoise" else [None]


def bench_training(
    model: str = "melgan",
    device: str = "cpu",
    threads: int = 2,
    precision: str = "32-true",
    stage: str | None = None,
    compile: bool = False,
) -> dict:
    """Median seconds per update cycle (one batch for 1:1, five for SpecGAN's 5:1) after warm-up.

    ``stage`` names one stage of a curriculum to time alone (the denoiser's). ``compile``: as ``compile=true``
    (inductor); its compilation falls in the warm-up cycles, whose times are reported apart.
    """
    settings = CPU_SETTINGS if device == "cpu" else {}
    batch_size, shape, cycle, cycles, warmup_cycles = settings.get((model, stage), SETTINGS[(model, stage)])
    overrides = [f"model={model}", "paths.output_dir=/tmp", f"model.batch_size={batch_size}"]
    overrides += [f"model.task.schedule.only_stage={stage}"] if stage else []
    overrides += OVERRIDES.get(model, [])
    cfg = compose_config(CONF, overrides)
    timer = BatchTimer()
    with bench_conditions(torch.device(device), threads) as conditions:
        task = build_task(cfg)
        if compile:
            compile_networks(task, {"backend": "inductor"})
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
        items = (warmup_cycles + cycles) * cycle * batch_size
        dataset = RandomItems(items, shape, KEYS.get(model, ("audio",)))
        loader = DataLoader(dataset, batch_size=batch_size)
        if getattr(task, "moments", None) is not None:  # SpecGAN normalises with its training data's moments
            task.moments.compute(
                [torch.stack([dataset[i]["audio"] for i in range(batch_size)])], task.features
            )
        trainer.fit(task, train_dataloaders=loader)
    timed = timer.times[warmup_cycles * cycle :]
    per_cycle = [sum(timed[i : i + cycle]) for i in range(0, len(timed), cycle)]
    median = statistics.median(per_cycle)
    hop = cfg.audio.hop_length if len(shape) == 2 else 1  # mel items: frames x hop samples of audio
    item_samples = shape[-1] * hop
    return {
        "benchmark": f"{model}_training" + (f"_{stage}" if stage else ""),
        "warmup_seconds": sum(timer.times[: warmup_cycles * cycle]),
        "seconds_per_cycle": summary(per_cycle),
        "batches_per_cycle": cycle,
        "cycles_per_second": 1.0 / median,
        "items_per_second": cycle * batch_size / median,
        "samples_per_second": cycle * batch_size * item_samples / median,
        "audio_seconds_per_second": cycle * batch_size * item_samples / cfg.audio.sample_rate / median,
        "batch_size": batch_size,
        "item_shape": list(shape),
        "cycles_timed": len(per_cycle),
        "precision": precision,
        "compile": compile,
        **conditions,
    }


if __name__ == "__main__":
    family = sys.argv[1] if len(sys.argv) > 1 else "melgan"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for stage in runs_of(family):
        print(json.dumps(bench_training(family, device, stage=stage), indent=2))
