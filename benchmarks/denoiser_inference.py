"""Denoiser inference speed: real-time factor of the full-size WaveNet + postnet on 10 s of 16 kHz audio.

Times the path ``infer.py`` runs (chunks with as much context on both sides as the generator reaches), fp32
and under bf16 autocast, round-robin in one process, medians with min-max, load average recorded (PERF.md).
Run: python -m benchmarks.denoiser_inference
"""

from __future__ import annotations

import json
import os

import torch

from audiogan.models.hifigan_denoise import DenoisingGenerator
from audiogan.tasks.hifigan_denoise import Denoiser
from benchmarks.timing import device_name, round_robin, summary, tame_malloc, torch_threads


def bench_denoiser_inference(
    device: str = "cpu",
    seconds: float = 10.0,
    rounds: int = 3,
    warmup: int = 1,
    threads: int = 2,
    sample_rate: int = 16000,
    chunk_seconds: float = 4.0,
    seed: int = 0,
) -> dict:
    """RTF (processing time / audio duration) of the default denoiser, postnet on, batch 1."""
    dev = torch.device(device)
    malloc = tame_malloc() if dev.type == "cpu" else None
    torch.manual_seed(seed)
    with torch_threads(threads):
        denoiser = Denoiser(DenoisingGenerator().eval().to(dev), sample_rate, chunk_seconds)
        noisy = 0.1 * torch.randn(int(seconds * sample_rate), device=dev)

        def bf16():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                return denoiser(noisy)

        variants = {"fp32": lambda: denoiser(noisy), "bf16_autocast": bf16}
        load_before = os.getloadavg()
        runs = round_robin(variants, dev, rounds, warmup)
        load_after = os.getloadavg()
    return {
        "benchmark": "denoiser_inference",
        "rtf": {name: summary([t / seconds for t, _ in run]) for name, run in runs.items()},
        "audio_seconds": seconds,
        "chunk_seconds": chunk_seconds,
        "context_samples": denoiser.context,
        "rounds": rounds,
        "threads": threads,
        "device": dev.type,
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "malloc": malloc,
    }


if __name__ == "__main__":
    print(json.dumps(bench_denoiser_inference("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
