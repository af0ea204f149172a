"""Every vocoder against its official code, side by side in one process: MelGAN, HiFi-GAN V1 and V3, Vocos
and BigVGAN v1 base, the same weights, the same log-mel, at 1 and 2 threads on 4 s and 30 s of audio
(batch 1).

Ours is what a user runs: ``audiogan.load`` of the official file (``vocode``: the fast inference path, long
inputs in chunks), and beside it at 2 threads on 4 s the module it wraps (``inference_generator``), which the
load path must not be slower than. The official side runs its generator as its inference scripts do, with
weight norm removed (MelGAN's interface keeps it; removing it only makes the official faster). The official
modules come from your checkouts for HiFi-GAN and MelGAN (imported from them, as ``benchmarks.equivalence``
does) and from the reference extra's packages for Vocos and BigVGAN (``pip install -e .[reference]``); a
family without its official code is skipped with the reason. Round-robin rounds, medians with min-max, the
ratios taken round by round (docs/measuring.md); outputs compared once. On the CPU each setting also gives the
lower bound of :mod:`benchmarks.bounds`: the official network's FLOPs at this CPU's measured peak, over the
official's time (at 0.67 or above, no implementation of that network reaches the 0.67x target).

    python -m benchmarks.vocoder_vs_official \
        reference.hifigan=/tmp/hifi-gan reference.melgan=/tmp/melgan-neurips
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from omegaconf import OmegaConf

import audiogan
from audiogan.commands.train import build_task
from audiogan.runs.resolvers import compose_config
from benchmarks.bigvgan_inference import official_bigvgan
from benchmarks.bounds import flops_per_frame, peak_flops
from benchmarks.equivalence import official_code
from benchmarks.timing import bench_conditions, ratio_summary, real_time_factors, round_robin, summary
from benchmarks.vocos_inference import official_vocos

CONF = Path(__file__).resolve().parents[1] / "conf"
# (threads, seconds of audio, timed rounds); the first setting also times the module the load path wraps; the
# 4 s settings are warmed up once; at 30 s a second round runs only where the first took under ROUND_BUDGET
# seconds (one round of BigVGAN base against the official takes 2.5-4 minutes on 2 cores)
SETTINGS = [(2, 4.0, 3), (1, 4.0, 3), (2, 30.0, 2), (1, 30.0, 2)]
ROUND_BUDGET = {30.0: 45.0}

# a pair: (ours as audiogan.load gives it, the official generator: log-mel [1, n_mels, frames] -> audio)
Pair = tuple[object, torch.nn.Module]


def _without_weight_norm(module: torch.nn.Module) -> torch.nn.Module:
    for layer in module.modules():
        if hasattr(layer, "weight_g"):
            torch.nn.utils.remove_weight_norm(layer)
    return module.eval()


@contextlib.contextmanager
def hifigan(checkout: Path, variant: str) -> Iterator[Pair]:
    """The official Generator of config_<variant>.json (random weights), written as ``g_00000000`` with
    its config.json and opened by audiogan.load."""
    with official_code(checkout, ["env", "models"]) as (env, models), tempfile.TemporaryDirectory() as tmp:
        h = env.AttrDict(json.loads((checkout / f"config_{variant}.json").read_text()))
        official = models.Generator(h)
        torch.save({"generator": official.state_dict()}, Path(tmp) / "g_00000000")
        (Path(tmp) / "config.json").write_text(json.dumps(h))
        ours = audiogan.load(Path(tmp) / "g_00000000")
        with contextlib.redirect_stdout(io.StringIO()):  # it prints what it removes
            official.remove_weight_norm()
        yield ours, official.eval()


@contextlib.contextmanager
def melgan(checkout: Path) -> Iterator[Pair]:
    """The official Generator at its train.py defaults (80 mels, ngf 32, 3 residual layers; random weights),
    saved as a released ``.pt`` and opened by audiogan.load."""
    with official_code(checkout, ["mel2wav.modules"]) as (modules,), tempfile.TemporaryDirectory() as tmp:
        official = modules.Generator(80, 32, 3)
        torch.save(official.state_dict(), Path(tmp) / "generator.pt")
        yield audiogan.load(Path(tmp) / "generator.pt"), _without_weight_norm(official)


@contextlib.contextmanager
def vocos() -> Iterator[Pair]:
    task = build_task(compose_config(CONF, ["model=vocos"])).eval()
    official = official_vocos(task)
    yield task.python_api(), _Decode(official)


@contextlib.contextmanager
def bigvgan_base() -> Iterator[Pair]:
    task = build_task(compose_config(CONF, ["model=bigvgan_base_22k"])).eval()
    yield task.python_api(), official_bigvgan(task)[0]


class _Decode(torch.nn.Module):
    """The official Vocos from its log-mel: ``Vocos.decode`` (backbone and head) as [1, 1, samples]."""

    def __init__(self, official: torch.nn.Module):
        super().__init__()
        self.official = official

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.official.decode(mel).unsqueeze(1)


def _families(references: dict) -> dict[str, Callable[[], contextlib.AbstractContextManager] | str]:
    """Each family's pair maker, or why it is skipped."""
    found: dict[str, Callable[[], contextlib.AbstractContextManager] | str] = {}
    hifigan_checkout, melgan_checkout = references.get("hifigan"), references.get("melgan")
    missing = "skipped: no official checkout given (reference.{0}=<a clone of {1}>)"
    for variant in ("v1", "v3"):
        found[f"hifigan_{variant}"] = (
            (lambda v=variant: hifigan(Path(hifigan_checkout).resolve(), v))
            if hifigan_checkout
            else missing.format("hifigan", "https://github.com/jik876/hifi-gan")
        )
    found["melgan"] = (
        (lambda: melgan(Path(melgan_checkout).resolve()))
        if melgan_checkout
        else missing.format("melgan", "https://github.com/descriptinc/melgan-neurips")
    )
    for name, maker, package in (("vocos", vocos, "vocos"), ("bigvgan_base", bigvgan_base, "bigvgan")):
        installed = importlib.util.find_spec(package) is not None
        found[name] = (
            maker if installed else f"skipped: the {package} package is not installed (.[reference])"
        )
    return found


def compare(ours, official: torch.nn.Module, device: torch.device) -> dict:
    """Ours (the load path and the module it wraps) against the official generator at every setting."""
    rate, hop = ours.sample_rate, ours.module.hop_length
    n_mels = ours.features.config.n_mels
    module = ours.module.vocoder.generator
    with torch.inference_mode():
        probe = torch.randn(1, n_mels, 64, device=device)
        difference = (ours.vocode(probe).waveform - official(probe).reshape(-1)).abs().max().item()
    per_frame, fixed = flops_per_frame(official, n_mels, device)
    entry: dict = {"max_abs_difference_to_official": difference, "settings": {}}
    for threads, seconds, rounds in SETTINGS:
        with bench_conditions(device, threads) as conditions:
            mel = torch.randn(1, n_mels, math.ceil(seconds * rate / hop), device=device)
            variants = {
                "ours": lambda mel=mel: ours.vocode(mel[0]),
                "official": lambda mel=mel: official(mel),
            }
            if (threads, seconds) == SETTINGS[0][:2]:
                variants["ours_module"] = lambda mel=mel: module(mel)
            with torch.inference_mode():
                warmup = 1 if seconds == SETTINGS[0][1] else 0
                runs = round_robin(variants, device, rounds, warmup, ROUND_BUDGET.get(seconds))
        row = {
            "ours_over_official": ratio_summary(runs, "ours", "official"),
            "rtf": real_time_factors(runs, mel.shape[-1] * hop / rate),
            "rounds": len(runs["ours"]),
            "load_average_before": conditions["load_average_before"],
        }
        if "ours_module" in runs:
            row["ours_over_ours_module"] = ratio_summary(runs, "ours", "ours_module")
        if device.type == "cpu":
            row["lower_bound"] = lower_bound(per_frame * mel.shape[-1] + fixed, threads, runs["official"])
        entry["settings"][f"{threads}_threads_{seconds:g}s"] = row
    return entry


def lower_bound(flops: float, threads: int, official_runs: list[tuple[float, int]]) -> dict:
    """The fastest any code of the official network's convolutions could run here (:mod:`benchmarks.bounds`),
    and that time over the official's median: at or above 0.67 no implementation reaches the target."""
    peak = peak_flops(threads)
    seconds = flops / peak["peak"]
    official = summary([run_seconds for run_seconds, _ in official_runs])["median"]
    return {
        "gflop": flops / 1e9,
        "peak_gflop_per_second": {k: v / 1e9 for k, v in peak.items() if k != "threads"},
        "seconds": seconds,
        "over_official": seconds / official,
    }


def bench(device: str = "cpu", references: dict | None = None) -> dict:
    """Ours / official time per family and setting (medians with min-max over the rounds)."""
    dev = torch.device(device)
    result: dict = {"benchmark": "vocoder_vs_official", "families": {}}
    with bench_conditions(dev, 2) as conditions:
        for name, maker in _families(references or {}).items():
            if isinstance(maker, str):
                result["families"][name] = maker
                continue
            with maker() as (ours, official):
                result["families"][name] = compare(ours, official.to(dev), dev)
    return {**result, **conditions}


if __name__ == "__main__":
    options = OmegaConf.to_container(OmegaConf.from_dotlist(sys.argv[1:]))
    print(json.dumps(bench("cpu", options.get("reference")), indent=2))
