"""HiFi-GAN inference speed: real-time factor of the V1 and V3 generators next to MelGAN's on the same audio.

Each generator as the vocoder path runs it (``mel_vocoder``, ``vocode``, infer.py): on the fast inference
path (``audiogan.inference.fast_path``); sizes from conf/model/. Round-robin in one process,
medians with min-max, load average recorded (docs/measuring.md).
Run: python -m benchmarks.hifigan_inference
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from hydra.utils import instantiate

from audiogan.inference.fast_path import fast_inference_copy
from audiogan.runs.resolvers import compose_config
from benchmarks.timing import bench_conditions, real_time_factors, round_robin

CONF = Path(__file__).resolve().parents[1] / "conf"


def _generator(*overrides: str) -> torch.nn.Module:
    return instantiate(compose_config(CONF, list(overrides)).model.task.generator).eval()


def bench(
    device: str = "cpu",
    seconds: float = 10.0,
    rounds: int = 5,
    warmup: int = 1,
    threads: int = 2,
    sample_rate: int = 22050,
    seed: int = 0,
) -> dict:
    """RTF (synthesis time / duration) of HiFi-GAN V1, V3 and MelGAN on ``seconds`` of audio (batch 1)."""
    dev = torch.device(device)
    with bench_conditions(dev, threads, seed) as conditions:
        generators = {
            name: fast_inference_copy(_generator(*overrides).to(dev), 80)  # all three: 80 mels, hop 256
            for name, overrides in [
                ("hifigan_v1", ("model=hifigan", "model.variant=v1")),
                ("hifigan_v3", ("model=hifigan", "model.variant=v3")),
                ("melgan", ("model=melgan",)),
            ]
        }
        frames = math.ceil(seconds * sample_rate / 256)
        mel = torch.randn(1, 80, frames, device=dev)
        duration = frames * 256 / sample_rate
        with torch.inference_mode():
            runs = round_robin(
                {name: (lambda g=g: g(mel)) for name, g in generators.items()}, dev, rounds, warmup
            )
    return {
        "benchmark": "hifigan_inference",
        "rtf": real_time_factors(runs, duration),
        "parameters": {
            name: sum(b.numel() for b in g.state_dict().values()) for name, g in generators.items()
        },
        "audio_seconds": duration,
        "frames": frames,
        "rounds": rounds,
        **conditions,
    }


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
