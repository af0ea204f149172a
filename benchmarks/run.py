"""``make bench``: every benchmark on the CPU (2 threads) and on a GPU when one is present.

Writes one JSON file per invocation to benchmarks/results/<date>_<time>_<host>_<cpu[+cuda]>.json (each run
records its device's name) and prints it.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import torch

from audiogan.utils.files import atomic_write
from benchmarks.conversion_inference import bench_conversion_inference
from benchmarks.denoiser_inference import bench_denoiser_inference
from benchmarks.melgan_inference import bench_melgan_inference
from benchmarks.specgan_sampling import bench_specgan_sampling
from benchmarks.timing import device_name
from benchmarks.training import FAMILIES, bench_training, runs_of

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> dict:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "host": socket.gethostname(),
        "devices": {device: device_name(torch.device(device)) for device in devices},
        "runs": [],
    }
    for device in devices:
        results["runs"].append(bench_melgan_inference(device))
        results["runs"].append(bench_specgan_sampling(device))
        results["runs"].append(bench_denoiser_inference(device))
        results["runs"].append(bench_conversion_inference(device))
        for model, stage in [(family, stage) for family in FAMILIES for stage in runs_of(family)]:
            results["runs"].append(bench_training(model, device, stage=stage))
            # bf16 and torch.compile against the default: every family on a GPU; on 2 CPU cores, where a
            # full-size step of the bigger families takes seconds to minutes, MelGAN's only
            if device == "cuda" or model == "melgan":
                results["runs"].append(bench_training(model, device, precision="bf16-mixed", stage=stage))
                results["runs"].append(bench_training(model, device, stage=stage, compile=True))
    path = RESULTS / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{results['host']}_{'+'.join(devices)}.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {path}")
    return results


if __name__ == "__main__":
    main()
