"""MelGAN generator inference speed: real-time factor of the plain and fast paths, fp32 and bf16.

Follows the house rules for timing on a small shared machine: all variants in one process, run round-robin
(A B C A B C ...), medians with min-max, per-round speed-up ratios, load average recorded, glibc malloc
tamed so big activations are not page-faulted back in on every forward.
Run: python -m benchmarks.melgan_inference
"""

from __future__ import annotations

import copy
import json
import math
import statistics

import torch

from audiogan.models.layers import remove_weight_norm
from audiogan.models.melgan import MelGANGenerator, MelGANInference
from benchmarks.timing import bench_conditions, round_robin, summary


def bench_melgan_inference(
    device: str = "cpu",
    seconds: float = 10.0,
    rounds: int = 7,
    warmup: int = 2,
    threads: int = 2,
    sample_rate: int = 22050,
    batch_size: int = 1,
    seed: int = 0,
) -> dict:
    """RTF (synthesis time / audio duration) of the default MelGAN generator on ``seconds`` of audio."""
    dev = torch.device(device)
    with bench_conditions(dev, threads, seed) as conditions:
        generator = MelGANGenerator().eval().to(dev)
        baked = remove_weight_norm(copy.deepcopy(generator))
        fast = MelGANInference(generator).to(dev)
        fast_bf16 = MelGANInference(generator).to(dev, torch.bfloat16)
        frames = math.ceil(seconds * sample_rate / generator.hop_length)
        mel = torch.randn(batch_size, generator.n_mels, frames, device=dev)
        duration = frames * generator.hop_length / sample_rate

        def autocast_bf16(model):
            def run():
                with torch.autocast(dev.type, dtype=torch.bfloat16):
                    return model(mel)

            return run

        variants = {
            "plain_fp32": lambda: generator(mel),
            "baked_fp32": lambda: baked(mel),
            "fast_fp32": lambda: fast(mel),
            "plain_bf16_autocast": autocast_bf16(baked),
            "fast_bf16": lambda: fast_bf16(mel),
        }
        with torch.inference_mode():
            reference = generator(mel)
            max_abs_diff = {
                "fast_fp32": (fast(mel) - reference).abs().max().item(),
                "fast_bf16": (fast_bf16(mel) - reference).abs().max().item(),
            }
            runs = round_robin(variants, dev, rounds, warmup)
    times = {name: [seconds for seconds, _ in run] for name, run in runs.items()}

    rtf = {name: summary([t / duration for t in ts]) for name, ts in times.items()}
    speedup = {
        name: summary([p / t for p, t in zip(times["plain_fp32"], ts, strict=True)])
        for name, ts in times.items()
        if name != "plain_fp32"
    }
    return {
        "benchmark": "melgan_inference",
        "rtf": rtf,
        "speedup_vs_plain_fp32": speedup,
        "max_abs_diff_vs_plain": max_abs_diff,
        "page_faults_per_run_median": {
            name: statistics.median(faults for _, faults in run) for name, run in runs.items()
        },
        "audio_seconds": duration,
        "frames": frames,
        "batch_size": batch_size,
        "rounds": rounds,
        **conditions,
    }


if __name__ == "__main__":
    print(json.dumps(bench_melgan_inference("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
