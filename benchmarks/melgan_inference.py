"""MelGAN generator inference speed: the plain network against its copy on the fast inference path
(``audiogan.inference.fast_path``, what MelGAN's inference uses), fp32, and bf16 where the device runs it
natively.

The fast path stays only while it pays over the plain generator on the same machine (``speedup_vs_plain``,
per-round ratios). Follows the house rules for timing on a small shared machine: all
variants in one process, run round-robin (A B C A B C ...), medians with min-max, load average recorded,
glibc malloc tamed so big activations are not page-faulted back in on every forward.
Run: python -m benchmarks.melgan_inference
"""

from __future__ import annotations

import json
import math
import statistics

import torch

from audiogan.inference.fast_path import fast_inference_copy
from audiogan.models.melgan import MelGANGenerator
from benchmarks.timing import bench_conditions, bf16_skipped, real_time_factors, round_robin, summary

# each fast variant against the plain network at the same precision
PAIRS = {"fast_fp32": "plain_fp32", "fast_bf16": "plain_bf16_autocast"}


def bench(
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
        fast = fast_inference_copy(generator, generator.n_mels)
        frames = math.ceil(seconds * sample_rate / generator.hop_length)
        mel = torch.randn(batch_size, generator.n_mels, frames, device=dev)
        duration = frames * generator.hop_length / sample_rate

        def plain_bf16_autocast():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                return generator(mel)

        variants = {"plain_fp32": lambda: generator(mel), "fast_fp32": lambda: fast(mel)}
        bf16 = bf16_skipped(dev)
        if bf16 is None:  # the bf16 fast copy is made only where it is timed
            fast_bf16 = fast_inference_copy(generator, generator.n_mels).to(torch.bfloat16)
            variants.update({"plain_bf16_autocast": plain_bf16_autocast, "fast_bf16": lambda: fast_bf16(mel)})
        with torch.inference_mode():
            reference = generator(mel)
            max_abs_diff = {
                name: (variants[name]().float() - reference).abs().max().item()
                for name in variants
                if name != "plain_fp32"
            }
            runs = round_robin(variants, dev, rounds, warmup)
    times = {name: [seconds for seconds, _ in run] for name, run in runs.items()}
    speedup = {
        fast_name: summary([p / f for p, f in zip(times[plain], times[fast_name], strict=True)])
        for fast_name, plain in PAIRS.items()
        if fast_name in times
    }
    return {
        "benchmark": "melgan_inference",
        "rtf": real_time_factors(runs, duration),
        "speedup_vs_plain": speedup,
        "max_abs_diff_vs_plain_fp32": max_abs_diff,
        **({"bf16": bf16} if bf16 else {}),
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
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
