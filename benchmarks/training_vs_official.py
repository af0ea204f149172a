"""One HiFi-GAN V1 training step of ours against one assembled from the official modules and losses in the
official train.py's order, side by side in one process, on the same batch from the same weights.

The official side is :class:`benchmarks.equivalence.OfficialHiFiGAN` (the checkout's Generator,
MultiPeriodDiscriminator, MultiScaleDiscriminator, losses and mel function, AdamW as train.py builds them)
after one step, so its optimizers hold moments; it is written in the official layout (``g_``, ``do_``,
config.json) and imported, so ours starts from the same weights and optimizer states. Ours is the imported
task trained as train.py trains it: through Lightning, the engine's ``training_step`` (D, then G). The
official step runs between our batches (ours, official, ours, ...: load drifts over both alike), on the same
batch: the recipe's 8192-sample segments, 2 of them on the CPU (16, the recipe's batch, on a GPU). After the
run both sides have taken the same steps; how far apart their generators' weights are (as a fraction of the
official side's update over the run) shows the two did the same work.

    python -m benchmarks.training_vs_official reference.hifigan=/tmp/hifi-gan
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import OmegaConf

from audiogan.runs.checkpoints import load_task
from audiogan.runs.imports import import_release
from benchmarks.equivalence import OfficialHiFiGAN, official_code
from benchmarks.timing import bench_conditions, summary
from benchmarks.training import RepeatedBatch, timing_trainer

SEGMENT = 8192
BATCH = {"cpu": 2, "cuda": 16}
MISSING = (
    "skipped: no official checkout given (reference.hifigan=<a clone of https://github.com/jik876/hifi-gan>)"
)


class OfficialStepBetween(L.Callback):
    """Times every training batch of ours and, after each, one ``official_step()``."""

    def __init__(self, official_step):
        self.official_step = official_step
        self.ours: list[float] = []
        self.official: list[float] = []

    @staticmethod
    def _now(device: torch.device) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.start = self._now(module.device)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.ours.append(self._now(module.device) - self.start)
        start = self._now(module.device)
        self.official_step()
        self.official.append(self._now(module.device) - start)


class ImportedOptimizerStates(L.Callback):
    """Puts the imported checkpoint's optimizer states (the official moments) into the task's optimizers when
    training starts, as a resumed run has them."""

    def __init__(self, states: list[dict]):
        self.states = states

    def on_train_start(self, trainer, module):
        for optimizer, state in zip(trainer.optimizers, self.states, strict=True):
            optimizer.load_state_dict(state)


def _effective_weight(conv: torch.nn.Module) -> torch.Tensor:
    """A convolution's weight as its next forward uses it: the official code's hook weight norm sets
    ``weight`` from ``weight_g`` and ``weight_v`` only during a forward, so after an optimizer step that
    attribute is a step old."""
    if hasattr(conv, "weight_g"):
        v = conv.weight_v
        return conv.weight_g * v / v.norm(dim=tuple(range(1, v.dim())), keepdim=True)
    return conv.weight


def _generator_weights(module: torch.nn.Module) -> torch.Tensor:
    """The generator's effective weights and biases, flattened in a fixed order."""
    with torch.no_grad():
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv1d | torch.nn.ConvTranspose1d)]
        return torch.cat([w.flatten().double() for m in convs for w in (_effective_weight(m), m.bias)])


def bench(
    device: str = "cpu",
    references: dict | None = None,
    rounds: int = 3,
    warmup: int = 1,
    threads: int = 2,
    precision: str = "32-true",
) -> dict:
    """Seconds per training step (D then G), ours and the official, and ours / official round by round."""
    result: dict = {"benchmark": "hifigan_v1_training_vs_official", "precision": precision}
    checkout = (references or {}).get("hifigan")
    if not checkout:
        return {**result, "skipped": MISSING}
    checkout, dev = Path(checkout).resolve(), torch.device(device)
    modules = ["env", "models", "meldataset"]
    with (
        bench_conditions(dev, threads) as conditions,
        official_code(checkout, modules) as (env, models, meldataset),
        tempfile.TemporaryDirectory() as tmp,
    ):
        h = env.AttrDict(json.loads((checkout / "config_v1.json").read_text()))
        official = OfficialHiFiGAN(models, meldataset, h)
        audio = torch.rand(BATCH[dev.type], SEGMENT, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
        official.step(audio)  # the optimizers now hold moments
        checkpoint = import_release(official.save(Path(tmp), 1), Path(tmp) / "ours.ckpt")
        task = load_task(checkpoint)
        optimizer_states = torch.load(checkpoint, weights_only=True)["optimizer_states"]
        official.to(dev)
        audio = audio.to(dev)
        start_weights = _generator_weights(official.generator)
        autocast = (
            torch.autocast(dev.type, dtype=torch.bfloat16)
            if precision.startswith("bf16")
            else contextlib.nullcontext()
        )

        def official_step():
            with autocast:
                official.step(audio)

        timer = OfficialStepBetween(official_step)
        trainer = timing_trainer(device, precision, [ImportedOptimizerStates(optimizer_states), timer])
        trainer.fit(task, train_dataloaders=RepeatedBatch({"audio": audio}, warmup + rounds))
        update = _generator_weights(official.generator) - start_weights
        difference = _generator_weights(task.generator) - _generator_weights(official.generator)
    ours, theirs = timer.ours[warmup:], timer.official[warmup:]
    return {
        **result,
        "batch_shape": list(audio.shape),
        "rounds": rounds,
        "ours_seconds": summary(ours),
        "official_seconds": summary(theirs),
        "ours_over_official": summary([a / b for a, b in zip(ours, theirs, strict=True)]),
        "generator_weights_difference_over_update": (difference.norm() / update.norm()).item(),
        **conditions,
    }


if __name__ == "__main__":
    options = OmegaConf.to_container(OmegaConf.from_dotlist(sys.argv[1:]))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(json.dumps(bench(device, options.get("reference")), indent=2))
