"""``make bench``: every benchmark on the CPU (2 threads) and on a GPU when one is present.

The vocoders against their official code (benchmarks/vocoder_vs_official.py: give the official checkouts as
``reference.hifigan=<path> reference.melgan=<path>``, ``make bench REFERENCE="..."``; without them those rows
say they were skipped), a HiFi-GAN V1 training step against the official one
(benchmarks/training_vs_official.py; fp32, and bf16 on a GPU) and the vocoders on long inputs
(benchmarks/vocoder_long_inputs.py). For every family of conf/model/: its training speed
(benchmarks/training.py, each stage of a curriculum apart), plus the family's own benchmarks, the modules
``benchmarks/<family>_*.py`` (each a ``bench(device)`` returning a dict). On a GPU every family's training is
also timed under bf16 and with torch.compile; on the CPU only the default family's GAN stage under bf16, and
only where the CPU runs bf16 natively (AVX-512): on 2 AVX2 cores bf16 runs through a slow fallback, and
compiling MelGAN took 2.5 minutes to train at the eager speed. Then how long the listening report of 3 runs x
8 clips takes to write (benchmarks/report_speed.py).
Writes one JSON file per invocation to benchmarks/results/<date>_<time>_<host>_<cpu[+cuda]>.json (each run
records its device's name) and prints it.
"""

from __future__ import annotations

import importlib
import json
import socket
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from audiogan.utils.files import atomic_write
from benchmarks import report_speed, training_vs_official, vocoder_long_inputs, vocoder_vs_official
from benchmarks.timing import bf16_skipped, device_name
from benchmarks.training import bench_training, default_family, families, stages_of

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def family_benchmarks(family: str) -> list:
    """The ``bench`` functions of the family's own benchmark modules (benchmarks/<family>_*.py), not those of
    a family whose name extends this one's (hifigan_denoise_*.py belong to hifigan_denoise, not hifigan)."""
    longer = [other for other in families() if other.startswith(f"{family}_")]
    modules = sorted(
        path.stem
        for path in HERE.glob(f"{family}_*.py")
        if not any(path.stem.startswith(f"{other}_") for other in longer)
    )
    return [importlib.import_module(f"benchmarks.{name}").bench for name in modules]


def main(argv: list[str]) -> dict:
    references = OmegaConf.to_container(OmegaConf.from_dotlist(argv)).get("reference") or {}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "host": socket.gethostname(),
        "devices": {device: device_name(torch.device(device)) for device in devices},
        "runs": [],
    }
    for device in devices:
        results["runs"].append(vocoder_vs_official.bench(device, references))
        for precision in ["32-true"] + (["bf16-mixed"] if device == "cuda" else []):
            results["runs"].append(training_vs_official.bench(device, references, precision=precision))
        results["runs"].append(vocoder_long_inputs.bench(device))
        for family in families():
            results["runs"] += [bench(device) for bench in family_benchmarks(family)]
            stages = stages_of(family)
            for stage in stages:
                variants = [{}]
                if device == "cuda":
                    variants += [{"precision": "bf16-mixed"}, {"compile": True}]
                elif (
                    family == default_family()
                    and stage == stages[-1]
                    and not bf16_skipped(torch.device(device))
                ):
                    variants += [{"precision": "bf16-mixed"}]
                results["runs"] += [bench_training(family, device, stage=stage, **v) for v in variants]
    results["runs"].append(report_speed.bench())  # the listening report of 3 runs x 8 clips (CPU only)
    path = RESULTS / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{results['host']}_{'+'.join(devices)}.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {path}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
