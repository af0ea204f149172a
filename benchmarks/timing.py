"""Timing helpers for benchmarks on a small shared machine (the method: docs/measuring.md).

All variants of a benchmark run in one process, round-robin; results are medians with min-max; the
load average is recorded; glibc's allocator is kept from returning big activations to the OS.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterator

import torch

from audiogan.utils.threads import torch_threads

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library (glibc's allocator controls: mallopt, malloc_trim)."""
    return ctypes.CDLL(ctypes.util.find_library("c"))


def tame_malloc() -> dict:
    """Apply the MALLOC_* settings at runtime with mallopt (glibc) when the environment did not set them."""
    state = {name: os.environ.get(name) for name in MALLOC_ENV}
    if all(state.values()) or platform.system() != "Linux":
        return {"env": state, "mallopt_applied": False}
    m_trim_threshold, m_mmap_threshold = -1, -3
    values = {
        "mmap_threshold": int(MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]),
        "trim_threshold": 2**31 - 1,
    }  # C int
    ok = libc().mallopt(m_mmap_threshold, values["mmap_threshold"]) == 1
    ok &= libc().mallopt(m_trim_threshold, values["trim_threshold"]) == 1
    return {"env": state, "mallopt_applied": bool(ok), "values": values}


def bf16_skipped(device: torch.device) -> str | None:
    """Why bf16 is not timed on ``device`` (None where it runs natively): a CPU without AVX-512 (torch's CPU
    capability AVX2 or lower) runs bf16 convolutions through a slow fallback, many times slower than fp32
    (the denoiser's bf16 variant took minutes per call on a 2-core AVX2 EPYC), which measures nothing."""
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "skipped: this GPU has no bf16"
    capability = torch.backends.cpu.get_cpu_capability()
    if capability.startswith("AVX512"):
        return None
    return f"skipped: this CPU has no native bf16 (torch's CPU capability: {capability})"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def timed(fn: Callable[[], torch.Tensor], device: torch.device) -> tuple[float, int]:
    """Seconds for one call, and the minor page faults it caused (allocator churn shows up here)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio_summary(runs: dict, numerator: str, denominator: str) -> dict:
    """``numerator``'s time over ``denominator``'s in :func:`round_robin`'s ``runs``, round by round."""
    pairs = zip(runs[numerator], runs[denominator], strict=True)
    return summary([a / b for (a, _), (b, _) in pairs])


def real_time_factors(runs: dict[str, list[tuple[float, int]]], audio_seconds: float) -> dict[str, dict]:
    """Each variant's real-time factor (processing seconds / ``audio_seconds``) over its :func:`round_robin`
    rounds, as a :func:`summary`."""
    return {name: summary([seconds / audio_seconds for seconds, _ in run]) for name, run in runs.items()}


def round_robin(
    variants: dict[str, Callable[[], object]],
    device: torch.device,
    rounds: int,
    warmup: int = 1,
    budget_seconds: float | None = None,
) -> dict[str, list[tuple[float, int]]]:
    """Each variant's (seconds, page faults) per round: all warmed up, then timed in turn (A B C A B C ...)
    so that load from other tenants drifts over every variant alike. With ``budget_seconds``, a further
    round (of at most ``rounds``) starts only while the timed rounds so far took less than that."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in variants}
    spent = 0.0
    for _ in range(rounds):
        if budget_seconds is not None and spent >= budget_seconds:
            break
        for name, fn in variants.items():
            runs[name].append(timed(fn, device))
            spent += runs[name][-1][0]
    return runs


@contextlib.contextmanager
def bench_conditions(device: torch.device, threads: int, seed: int = 0) -> Iterator[dict]:
    """Run a benchmark's body under the conditions of docs/measuring.md (glibc malloc tamed on the CPU,
    ``threads`` intra-op threads, seeded) and collect what its result must say about them: device, torch
    version, allocator settings, load average before and after. The dict is complete when the block ends."""
    record = {
        "threads": threads,
        "device": device.type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "malloc": tame_malloc() if device.type == "cpu" else None,
        "load_average_before": os.getloadavg(),
    }
    torch.manual_seed(seed)
    with torch_threads(threads):
        yield record
    record["load_average_after"] = os.getloadavg()
