"""BigVGAN inference speed, side by side in one process: our BigVGAN against the official package's
(``bigvgan`` 2.4.1, its PyTorch activation; the same weights, the same 4 s of audio), for the v2 22 kHz
release, waveform in (the v1 base, log-mel in, at 1 and 2 threads on 4 s and 30 s: benchmarks/
vocoder_vs_official.py).

Each as a user runs it on a waveform: the log-mel, then the generator (ours: the path of ``audiogan.load``
and infer.py, ``inference_module``, on the fast inference path; ``ours_plain``: the same with the plain
generator, weight norm baked in, the module the fast path replaces; the official: ``get_mel_spectrogram``
then ``BigVGAN`` after its ``remove_weight_norm()``, as its README's inference). Full sizes from conf/model/.
Round-robin in one process, medians with min-max; the ratios are taken round by round (docs/measuring.md).
The official rows need the reference extra (``pip install -e .[reference]``); without it the result says so
and times ours alone.
Run: python -m benchmarks.bigvgan_inference
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import torch

from audiogan.commands.train import build_task
from audiogan.export import inference_copy
from audiogan.inference.vocoder import MelResynthesis, MelVocoder
from audiogan.runs.resolvers import compose_config
from audiogan.tasks.bigvgan_release import official_config
from audiogan.tasks.release import to_hook_weight_norm
from benchmarks.timing import bench_conditions, ratio_summary, real_time_factors, round_robin

CONF = Path(__file__).resolve().parents[1] / "conf"
RELEASES = ("bigvgan",)


def official_bigvgan(task) -> tuple[torch.nn.Module, dict]:
    """The official BigVGAN built from the task's sizes, holding its generator's weights, weight norm removed;
    and the hyperparameters its mel function takes."""
    from bigvgan.bigvgan import BigVGAN
    from bigvgan.env import AttrDict

    h = AttrDict(official_config(task))  # the config.json audiogan writes for this task
    official = BigVGAN(h)
    official.load_state_dict({to_hook_weight_norm(k): v for k, v in task.generator.state_dict().items()})
    with contextlib.redirect_stdout(io.StringIO()):  # it prints what it does
        official.remove_weight_norm()
    return official.eval(), h


def bench(
    device: str = "cpu", seconds: float = 4.0, rounds: int = 3, warmup: int = 1, threads: int = 2
) -> dict:
    """RTF (synthesis time / duration) of our BigVGAN and the official one per release (batch 1)."""
    dev = torch.device(device)
    has_official = importlib.util.find_spec("bigvgan") is not None
    result: dict = {"benchmark": "bigvgan_inference", "releases": {}}
    with bench_conditions(dev, threads) as conditions:
        for release in RELEASES:
            task = build_task(compose_config(CONF, [f"model={release}"])).eval()
            ours = task.inference_module().to(dev)
            rate, hop = task.audio_config.sample_rate, task.audio_config.hop_length
            audio = 0.1 * torch.randn(round(seconds * rate / hop) * hop, device=dev)
            plain = MelResynthesis(
                task.log_mel, MelVocoder(inference_copy(task.generator), task.audio_config)
            )
            plain = plain.to(dev)
            variants = {
                "ours": lambda ours=ours, audio=audio: ours(audio),
                "ours_plain": lambda plain=plain, audio=audio: plain(audio),
            }
            entry: dict = {}
            if has_official:
                from bigvgan.meldataset import get_mel_spectrogram

                official, h = official_bigvgan(task)
                official = official.to(dev)
                variants["official"] = lambda official=official, h=h, audio=audio: official(
                    get_mel_spectrogram(audio[None], h)
                )
                with torch.inference_mode():
                    difference = (ours(audio) - variants["official"]()[0]).abs().max()
                entry["max_abs_difference_to_official"] = float(difference)
            with torch.inference_mode():
                runs = round_robin(variants, dev, rounds, warmup)
            entry["rtf"] = real_time_factors(runs, seconds)
            if has_official:
                entry["ours_over_official"] = ratio_summary(runs, "ours", "official")
                entry["ours_plain_over_official"] = ratio_summary(runs, "ours_plain", "official")
            entry["ours_over_ours_plain"] = ratio_summary(runs, "ours", "ours_plain")
            result["releases"][release] = entry
    if not has_official:
        result["official"] = "skipped: the bigvgan package is not installed (pip install -e .[reference])"
    return {**result, "audio_seconds": seconds, "rounds": rounds, **conditions}


if __name__ == "__main__":
    print(json.dumps(bench("cuda" if torch.cuda.is_available() else "cpu"), indent=2))
