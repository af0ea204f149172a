"""Long inputs: time and peak memory of every full-size vocoder against input length (30, 60, 120 s), and a
10-minute 22.05 kHz file through MelGAN, HiFi-GAN V3 and Vocos.

Each vocoder as inference runs it (``inference_generator``: the fast inference path, long inputs in chunks
of 10 s with the context of the model config, equal to one pass); one pass over the whole input beside it at
30 s. Before each call the allocator hands its free memory back (glibc ``malloc_trim``), so the resident
set then is what the process holds (the task's weights, the input); the peak is the resident set at its
highest during the call (Linux: VmHWM, reset through /proc/self/clear_refs), and ``peak_above_before_mib``
what the call itself needed. Random weights and log-mels (timing and memory do not depend on them); batch
1, 2 threads, one process.
Run: python -m benchmarks.vocoder_long_inputs
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import torch

from audiogan.commands.train import build_task
from audiogan.runs.resolvers import compose_config
from benchmarks.timing import bench_conditions, libc

CONF = Path(__file__).resolve().parents[1] / "conf"
VOCODERS = {
    "melgan": ["model=melgan"],
    "hifigan_v1": ["model=hifigan", "model.variant=v1"],
    "hifigan_v3": ["model=hifigan", "model.variant=v3"],
    "vocos": ["model=vocos"],
    "bigvgan_base": ["model=bigvgan_base_22k"],
}
LONG_FILE = ("melgan", "hifigan_v3", "vocos")  # the 10-minute file


def _memory_mib(field: str) -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024


def measured(run, mel: torch.Tensor) -> dict:
    """Seconds and resident memory (MiB: before the call, at its peak during it) of ``run(mel)``."""
    libc().malloc_trim(0)
    before = _memory_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from the current size
    start = time.perf_counter()
    with torch.inference_mode():
        run(mel)
    seconds = time.perf_counter() - start
    peak = _memory_mib("VmHWM")
    return {
        "seconds": seconds,
        "rss_before_mib": round(before),
        "peak_rss_mib": round(peak),
        "peak_above_before_mib": round(peak - before),
    }


def bench(
    device: str = "cpu",
    lengths: tuple[float, ...] = (30.0, 60.0, 120.0),
    long_file_seconds: float = 600.0,
    threads: int = 2,
) -> dict:
    """Per vocoder and input length: seconds, real-time factor and peak memory, chunked (and one pass)."""
    if device != "cpu":
        return {"benchmark": "vocoder_long_inputs", "skipped": "CPU memory (the resident set) only"}
    results: dict = {}
    with bench_conditions(torch.device(device), threads) as conditions:
        for name, overrides in VOCODERS.items():
            task = build_task(compose_config(CONF, overrides)).eval()
            chunked = task.inference_generator()
            one_pass = chunked.generator
            audio = task.audio_config

            def mel(seconds: float, audio=audio) -> torch.Tensor:
                return torch.randn(1, audio.n_mels, math.ceil(seconds * audio.sample_rate / audio.hop_length))

            with torch.inference_mode():
                chunked(mel(4.0))  # oneDNN's primitives are made on the first call
            rows = {}
            seconds_list = [*lengths, *([long_file_seconds] if name in LONG_FILE else [])]
            for seconds in seconds_list:
                row = {"chunked": measured(chunked, mel(seconds))}
                if seconds == lengths[0]:
                    row["one_pass"] = measured(one_pass, mel(seconds))
                for entry in row.values():
                    entry["rtf"] = entry["seconds"] / seconds
                rows[f"{seconds:g}s"] = row
            results[name] = {
                "sample_rate": audio.sample_rate,
                "chunk_frames": chunked.chunk_frames,
                "context_frames": chunked.context_frames,
                "by_length": rows,
            }
    return {"benchmark": "vocoder_long_inputs", "vocoders": results, **conditions}


if __name__ == "__main__":
    print(json.dumps(bench(), indent=2))
