"""Voice-conversion speed: real-time factor of the full-size converter on 10 s of 22.05 kHz speech.

Times the path ``convert.py`` runs (dB log-mel -> ImprovedGenerator -> audio) with each way of rendering
audio: Griffin-Lim at the default 128 iterations, a full-size MelGAN (rebinned mels), and the generator
alone (mel in, mel out), round-robin in one process, medians with min-max, load average recorded
(docs/measuring.md).
Weights are random: speed does not depend on them.
Run: python -m benchmarks.voice_conversion_inference
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from audiogan.commands.train import build_task
from audiogan.runs.resolvers import compose_config
from benchmarks.timing import bench_conditions, real_time_factors, round_robin

CONF = Path(__file__).resolve().parents[1] / "conf"


def _task(model: str):
    return build_task(compose_config(CONF, [f"model={model}", "paths.output_dir=/tmp"])).eval()


def bench(
    device: str = "cpu",
    seconds: float = 10.0,
    rounds: int = 3,
    warmup: int = 1,
    threads: int = 2,
    seed: int = 0,
) -> dict:
    """RTF (processing time / audio duration) of converting one ``seconds``-long utterance, batch 1."""
    dev = torch.device(device)
    with bench_conditions(dev, threads, seed) as conditions:
        task = _task("voice_conversion")
        griffin_lim = task.inference_module().to(dev)
        melgan = task.inference_module(vocoder=_task("melgan").mel_vocoder(task.audio_config)).to(dev)
        speech = 0.1 * torch.randn(int(seconds * task.audio_config.sample_rate), device=dev)
        mel = griffin_lim.log_mel(speech[None])

        def generator_only():
            with torch.inference_mode():
                return griffin_lim.convert_mel(mel)

        variants = {
            f"griffin_lim_{griffin_lim.vocoder.n_iter}": lambda: griffin_lim(speech),
            "melgan": lambda: melgan(speech),
            "generator_only": generator_only,
        }
        runs = round_robin(variants, dev, rounds, warmup)
    return {
        "benchmark": "conversion_inference",
        "rtf": real_time_factors(runs, seconds),
        "audio_seconds": seconds,
        "generator_parameters": sum(p.numel() for p in task.generator.parameters()),
        "rounds": rounds,
        **conditions,
    }


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
