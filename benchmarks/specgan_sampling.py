"""SpecGAN sampling throughput: generated one-second clips per second, spectrogram and audio.

Full-size generator (dim 64) with moments of a synthetic corpus; Griffin-Lim at 16 iterations as the
original. Batches of 64, timed round-robin with the generator alone so the inversion's share shows.
Run: python -m benchmarks.specgan_sampling
"""

from __future__ import annotations

import json
import statistics

import torch

from audiogan.audio.spectrogram import FrequencyMoments, LogMagnitudeSTFT, invert
from audiogan.models.specgan import SpecGANGenerator
from benchmarks.timing import bench_conditions, round_robin, summary


def bench(
    device: str = "cpu", batch_size: int = 64, rounds: int = 5, threads: int = 2, griffin_lim_iters: int = 16
) -> dict:
    dev = torch.device(device)
    with bench_conditions(dev, threads) as conditions:
        generator = SpecGANGenerator().eval().to(dev)
        moments = (
            FrequencyMoments().to(dev).compute([torch.randn(8, 16384, device=dev) * 0.1], LogMagnitudeSTFT())
        )
        z = generator.sample_latent(batch_size)
        variants = {
            "generator": lambda: generator(z),
            "generator_and_griffin_lim": lambda: invert(generator(z), moments, griffin_lim_iters),
        }
        with torch.inference_mode():
            runs = round_robin(variants, dev, rounds)
    times = {name: [seconds for seconds, _ in run] for name, run in runs.items()}
    return {
        "benchmark": "specgan_sampling",
        "seconds_per_batch": {name: summary(ts) for name, ts in times.items()},
        "clips_per_second": {name: batch_size / statistics.median(ts) for name, ts in times.items()},
        "batch_size": batch_size,
        "griffin_lim_iters": griffin_lim_iters,
        **conditions,
    }


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
