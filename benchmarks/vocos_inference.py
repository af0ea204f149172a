"""Vocos inference speed, side by side in one process: our Vocos against the official package's (the same
weights, the same 10 s of audio) and against our HiFi-GAN V1 on 10 s of its own audio.

Each as a user runs it on a waveform: the log-mel, then the generator (ours: the path of ``audiogan.load``
and infer.py, ``inference_module``; the official: ``Vocos.__call__``, features then ``decode``). Full sizes
from conf/model/. Round-robin in one process, medians with min-max; the ratios are taken round by round
(docs/measuring.md). The official row needs the reference extra (``pip install -e .[reference]``); without
it the result says so and times ours alone.
Run: python -m benchmarks.vocos_inference
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

from audiogan.commands.train import build_task
from audiogan.runs.resolvers import compose_config
from benchmarks.timing import bench_conditions, ratio_summary, real_time_factors, round_robin

CONF = Path(__file__).resolve().parents[1] / "conf"


def _resynthesis(*overrides: str):
    """A family's inference path at full size (random weights), and its task."""
    task = build_task(compose_config(CONF, list(overrides))).eval()
    return task.inference_module(), task


def official_vocos(task) -> torch.nn.Module:
    """The official Vocos of the release's classes, holding our generator's weights."""
    from vocos import Vocos
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    generator, audio = task.hparams["generator"], task.audio_config
    official = Vocos(
        MelSpectrogramFeatures(audio.sample_rate, audio.n_fft, audio.hop_length, audio.n_mels, "center"),
        VocosBackbone(audio.n_mels, generator["dim"], generator["intermediate_dim"], generator["num_layers"]),
        ISTFTHead(generator["dim"], generator["n_fft"], generator["hop_length"], "center"),
    )
    # strict: every official key; the feature extractor's window and filterbank stay the official ones
    official.load_state_dict({**official.state_dict(), **task.generator.state_dict()})
    return official.eval()


def bench(
    device: str = "cpu", seconds: float = 10.0, rounds: int = 3, warmup: int = 1, threads: int = 2
) -> dict:
    """RTF (synthesis time / duration) of our Vocos, the official one and our HiFi-GAN V1 (batch 1)."""
    dev = torch.device(device)
    has_official = importlib.util.find_spec("vocos") is not None
    with bench_conditions(dev, threads) as conditions:
        vocos, task = _resynthesis("model=vocos")
        hifigan, _ = _resynthesis("model=hifigan", "model.variant=v1")
        vocos, hifigan = vocos.to(dev), hifigan.to(dev)
        # a whole number of hops: the length that ours and the official give back alike
        audio = {
            name: 0.1 * torch.randn(round(seconds * m.sample_rate / m.hop_length) * m.hop_length, device=dev)
            for name, m in (("vocos", vocos), ("hifigan", hifigan))
        }
        variants = {
            "vocos": lambda: vocos(audio["vocos"]),
            "hifigan_v1": lambda: hifigan(audio["hifigan"]),
        }
        result: dict = {"benchmark": "vocos_inference"}
        if has_official:
            official = official_vocos(task).to(dev)
            variants["vocos_official"] = lambda: official(audio["vocos"][None])
            with torch.inference_mode():
                ours, theirs = vocos(audio["vocos"]), official(audio["vocos"][None])[0]
            result["max_abs_difference_to_official"] = float((ours - theirs).abs().max())
        else:
            result["official"] = "skipped: the vocos package is not installed (pip install -e .[reference])"
        with torch.inference_mode():
            runs = round_robin(variants, dev, rounds, warmup)
    result["rtf"] = real_time_factors(runs, seconds)
    result["hifigan_v1_over_vocos"] = ratio_summary(runs, "hifigan_v1", "vocos")
    if has_official:
        result["vocos_over_official"] = ratio_summary(runs, "vocos", "vocos_official")
    return {**result, "audio_seconds": seconds, "rounds": rounds, **conditions}


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
