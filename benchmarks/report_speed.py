"""Listening report speed: writing the page of 3 runs x 8 clips (reference, generated, Griffin-Lim, 6 s each
at 22.05 kHz; 40 validations of 2 metrics and their baselines), in process and as the whole ``report.py``
command (Python start-up and imports included). Target: under 10 s on 2 CPU cores.
Run: python -m benchmarks.report_speed
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from audiogan.audio.io import save_audio
from audiogan.runs.resolvers import compose_config

ROOT = Path(__file__).resolve().parents[1]
ROLES = {"reference": "reference", "generated": "output", "griffinlim": "baseline"}
CONFIG = """model:
  task:
    _target_: audiogan.tasks.melgan.MelGANTask
    schedule: {max_batches: 40000}
data:
  _target_: audiogan.data.TinySpeech
"""


def fake_run(folder: Path, clips: int, seconds: float, rate: int = 22050, validations: int = 40) -> Path:
    """A run dir as train.py leaves it: config, metrics CSV, best and last checkpoints, one samples folder."""
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG)
    batches = [1000 * (i + 1) for i in range(validations)]
    (folder / "csv").mkdir()
    with open(folder / "csv" / "metrics.csv", "w", newline="") as handle:
        names = ["val/mel_l1", "val/mel_l1_griffinlim", "val/mrstft", "val/mrstft_griffinlim"]
        writer = csv.DictWriter(handle, ["progress/batches", "progress/seconds", *names])
        writer.writeheader()
        for i, batch in enumerate(batches):
            writer.writerow(
                {"progress/batches": batch, "progress/seconds": 30 * i, **{n: 1 / (i + 1) for n in names}}
            )
    (folder / "checkpoints").mkdir()
    state = {
        "state_dict": {"weights": torch.zeros(4_000_000)},
        "gan_engine": {"counters": {"batches": batches[-1]}},
    }
    torch.save(state, folder / "checkpoints" / f"best-step{batches[-1]:08d}.ckpt")
    torch.save(state, folder / "checkpoints" / "last.ckpt")
    samples = folder / "samples" / f"batch{batches[-1]:08d}"
    time_axis = torch.arange(int(seconds * rate)) / rate
    for clip in range(clips):
        for index, label in enumerate(ROLES):
            tone = torch.sin(2 * math.pi * (200 + 50 * clip + 100 * index) * time_axis * (1 + time_axis))
            save_audio(samples / f"clip{clip}_{label}.wav", 0.3 * tone + 0.01 * torch.randn_like(tone), rate)
    manifest = {f"clip{clip}": {"sample_rate": rate, "audio": ROLES} for clip in range(clips)}
    (samples / "samples.json").write_text(json.dumps(manifest))
    return folder


def bench(runs: int = 3, clips: int = 8, seconds: float = 6.0) -> dict:
    from audiogan.commands import report

    with tempfile.TemporaryDirectory() as tmp:
        folders = [fake_run(Path(tmp) / f"run{i}", clips, seconds) for i in range(runs)]
        overrides = [f"runs=[{','.join(map(str, folders))}]"]
        cfg = compose_config(str(ROOT / "conf"), [*overrides, f"output_dir={tmp}/in_process"], name="report")
        start = time.perf_counter()
        report.run(cfg)
        in_process = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "report.py"), *overrides, f"output_dir={tmp}/command"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        command = time.perf_counter() - start
    return {
        "benchmark": "report_speed",
        "runs": runs,
        "clips": clips,
        "clip_seconds": seconds,
        "in_process_s": round(in_process, 2),
        "command_s": round(command, 2),
    }


if __name__ == "__main__":
    print(json.dumps(bench(), indent=2))
