"""Denoiser inference speed: real-time factor of the full-size WaveNet + postnet on 10 s of 16 kHz audio.

Times the path ``infer.py`` runs (chunks with a receptive field of context on both sides), fp32 and under
bf16 autocast, round-robin in one process, medians with min-max, load average recorded (PERF.md).
Run: python -m benchmarks.denoiser_inference
"""

from __future__ import annotations

import json
import os

import torch

from audiogan.models.hifigan_denoise import DenoisingGenerator
from audiogan.tasks.hifigan_denoise import Denoiser
from benchmarks.timing import device_name, summary, tame_malloc, timed


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
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    try:
        denoiser = Denoiser(DenoisingGenerator().eval().to(dev), sample_rate, chunk_seconds)
        noisy = 0.1 * torch.randn(int(seconds * sample_rate), device=dev)

        def bf16():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                return denoiser(noisy)

        variants = {"fp32": lambda: denoiser(noisy), "bf16_autocast": bf16}
        load_before = os.getloadavg()
        for _ in range(warmup):
            for fn in variants.values():
                fn()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, fn in variants.items():
                times[name].append(timed(fn, dev)[0])
        load_after = os.getloadavg()
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "benchmark": "denoiser_inference",
        "rtf": {name: summary([t / seconds for t in ts]) for name, ts in times.items()},
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
