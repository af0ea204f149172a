"""Training speed of every family's real task through Lightning, at full size, derived from its configs.

For each family of ``conf/model/``: its networks and item sizes from the model config, one real batch of its
embedded corpus (the data its smoke config, ``experiment=<family>_smoke``, trains on) fed again and again,
so data loading is not timed. A family whose schedule has several stages (the denoiser's curriculum) is
timed stage by stage (``only_stage``). One cycle = n_d batches of the stage (1:1 and 1:2 one batch,
SpecGAN's 5:1 five); a warm-up cycle, then cycles until 8 are timed or 20 s have passed (at least 2). On the
CPU a family's ``experiment=<family>_cpu_bench`` (when present) shrinks what a full-size step cannot do in
seconds there; the JSON records the batch shape. D-skip thresholds are off, so every cycle does the same work.
``audio_seconds_per_second`` counts the training audio (waveform samples, or mel frames x hop) in seconds.
Run: python -m benchmarks.training [family]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class

from audiogan.commands.train import build_datamodule, build_task, compile_networks
from audiogan.runs.layouts import family_task_classes
from audiogan.runs.resolvers import compose_config
from audiogan.tasks.base import build_schedule
from audiogan.utils.config import to_dict
from benchmarks.timing import bench_conditions, summary

CONF = Path(__file__).resolve().parents[1] / "conf"
MAX_CYCLES, MIN_CYCLES, TIME_BUDGET = 8, 2, 20.0


def families() -> list[str]:
    """Every family of conf/model/ (a release's config that builds on one, e.g. bigvgan_v2_24k, is not
    another)."""
    return sorted(family_task_classes())


def default_family() -> str:
    """The family ``python train.py`` trains."""
    compose_config(CONF, [])
    return HydraConfig.get().runtime.choices["model"]


def embedded_data(family: str) -> str:
    """The data config of the family's smoke run: its corpus that needs no download."""
    compose_config(CONF, [f"experiment={family}_smoke"])
    return HydraConfig.get().runtime.choices["data"]


def stages_of(family: str) -> list[str | None]:
    """The stages timed apart: each stage of a curriculum (or warm-up + adversarial), else the whole task."""
    task = compose_config(CONF, [f"model={family}"]).model.task
    options_type = get_class(task._target_).stage_options
    stages = build_schedule(task.schedule, to_dict(task.optim), options_type).stages
    return [stage.name for stage in stages] if len(stages) > 1 else [None]


def _config(family: str, device: str, stage: str | None):
    overrides = [f"model={family}", f"data={embedded_data(family)}", "paths.output_dir=/tmp"]
    overrides.append("++model.task.schedule.d_loss_threshold=null")
    if device == "cpu" and (CONF / "experiment" / f"{family}_cpu_bench.yaml").is_file():
        overrides.append(f"experiment={family}_cpu_bench")
    if stage:
        overrides.append(f"++model.task.schedule.only_stage={stage}")
    return compose_config(CONF, overrides)


def repeating_first_batch(cfg, batches: int) -> tuple[L.LightningDataModule, dict[str, torch.Tensor]]:
    """The config's datamodule (what a task may read in setup, e.g. SpecGAN's moments) whose train loader
    yields its first batch ``batches`` times (the family's item shapes and batch size), and that batch."""
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    datamodule.train_dataloader = lambda: RepeatedBatch(batch, batches)
    return datamodule, batch


class RepeatedBatch:
    """One batch ``times`` over, as a train loader (an iterable, not a list: Lightning would take a list
    for several loaders)."""

    def __init__(self, batch: dict[str, torch.Tensor], times: int):
        self.batch, self.times = batch, times

    def __len__(self) -> int:
        return self.times

    def __iter__(self):
        return iter([self.batch] * self.times)


class CycleTimer(L.Callback):
    """Wall time of every training batch (synchronised on GPU); stops once enough cycles are timed."""

    def __init__(self, cycle: int, warmup_cycles: int):
        self.cycle, self.warmup = cycle, warmup_cycles
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
        timed = self.times[self.warmup * self.cycle :]
        cycles = len(timed) // self.cycle
        if cycles >= MAX_CYCLES or (cycles >= MIN_CYCLES and sum(timed) > TIME_BUDGET):
            trainer.should_stop = True


def timing_trainer(device: str, precision: str, callbacks: list[L.Callback]) -> L.Trainer:
    """A Lightning trainer that trains one epoch of the loader it is given and does nothing else: no logger,
    checkpoints, progress bar, summary or validation."""
    return L.Trainer(
        accelerator=device,
        devices=1,
        precision=precision,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )


def bench_training(
    family: str = "melgan",
    device: str = "cpu",
    threads: int = 2,
    precision: str = "32-true",
    stage: str | None = None,
    compile: bool = False,
) -> dict:
    """Median seconds per update cycle of ``family`` (one ``stage`` of a curriculum alone when given).

    ``compile``: as ``compile=true`` (inductor); its compilation falls in the warm-up cycle, reported apart.
    """
    cfg = _config(family, device, stage)
    with bench_conditions(torch.device(device), threads) as conditions:
        task = build_task(cfg)
        first, _ = task.schedule.stage_at(task.schedule.first_batch)
        timed = task.schedule.stages[first]
        cycle = timed.n_d if timed.adversarial else 1
        datamodule, batch = repeating_first_batch(cfg, (1 + MAX_CYCLES) * cycle)
        if compile:
            compile_networks(task, {"backend": "inductor"})
        timer = CycleTimer(cycle, warmup_cycles=1)
        trainer = timing_trainer(device, precision, [timer])
        trainer.fit(task, datamodule=datamodule)
    timed = timer.times[cycle:]
    per_cycle = [sum(timed[i : i + cycle]) for i in range(0, len(timed) - cycle + 1, cycle)]
    median = statistics.median(per_cycle)
    first = next(iter(batch.values()))
    hop = cfg.audio.hop_length if first.dim() == 3 else 1  # mel items: frames x hop samples of audio
    item_samples = first.shape[-1] * hop
    batch_size = first.shape[0]
    return {
        "benchmark": f"{family}_training" + (f"_{stage}" if stage else ""),
        "warmup_seconds": sum(timer.times[:cycle]),
        "seconds_per_cycle": summary(per_cycle),
        "batches_per_cycle": cycle,
        "cycles_per_second": 1.0 / median,
        "items_per_second": cycle * batch_size / median,
        "audio_seconds_per_second": cycle * batch_size * item_samples / cfg.audio.sample_rate / median,
        "batch_shapes": {key: list(value.shape) for key, value in batch.items()},
        "cycles_timed": len(per_cycle),
        "precision": precision,
        "compile": compile,
        **conditions,
    }


if __name__ == "__main__":
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for family in sys.argv[1:] or families():
        for stage in stages_of(family):
            print(json.dumps(bench_training(family, device, stage=stage), indent=2))
