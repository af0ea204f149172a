"""Denoiser inference speed: real-time factor of the full-size WaveNet + postnet on 10 s of 16 kHz audio.

Times the path ``infer.py`` runs (chunks with as much context on both sides as the generator reaches), fp32
and under bf16 autocast, round-robin in one process, medians with min-max, load average recorded
(docs/measuring.md).
Run: python -m benchmarks.hifigan_denoise_inference
"""

from __future__ import annotations

import json

import torch

from audiogan.models.hifigan_denoise import DenoisingGenerator
from audiogan.tasks.hifigan_denoise import Denoiser
from benchmarks.timing import bench_conditions, bf16_skipped, real_time_factors, round_robin


def bench(
    device: str = "cpu",
    seconds: float = 10.0,
    rounds: int = 2,
    warmup: int = 1,
    threads: int = 2,
    sample_rate: int = 16000,
    chunk_seconds: float = 4.0,
    seed: int = 0,
) -> dict:
    """RTF (processing time / audio duration) of the default denoiser, postnet on, batch 1."""
    dev = torch.device(device)
    with bench_conditions(dev, threads, seed) as conditions:
        denoiser = Denoiser(DenoisingGenerator().eval().to(dev), sample_rate, chunk_seconds)
        noisy = 0.1 * torch.randn(int(seconds * sample_rate), device=dev)

        def bf16():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                return denoiser(noisy)

        variants = {"fp32": lambda: denoiser(noisy)}
        bf16_skip = bf16_skipped(dev)
        if bf16_skip is None:
            variants["bf16_autocast"] = bf16
        runs = round_robin(variants, dev, rounds, warmup)
    return {
        "benchmark": "denoiser_inference",
        "rtf": real_time_factors(runs, seconds),
        "audio_seconds": seconds,
        "chunk_seconds": chunk_seconds,
        "context_samples": denoiser.context,
        "rounds": rounds,
        **({"bf16": bf16_skip} if bf16_skip else {}),
        **conditions,
    }


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
