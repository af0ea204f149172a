"""``make bench-learning``: does each family learn? Train it on its embedded corpus for a fixed budget, check.

Run: ``python -m benchmarks.learning [family ...]`` (every family with a learning config when none is named).

A family's learning run is ``conf/experiment/<family>_learning.yaml`` (full size, for a GPU) or, on a machine
without one, ``<family>_learning_cpu.yaml`` when it exists (sizes reduced to fit about 10 minutes on 2 CPU
cores). The benchmark runs ``train.py experiment=<that>`` as a user would, reads the run's validations back
(``audiogan.runs.run_dir``) and checks the config's ``learning`` block on the last one::

    learning:
      metric: val/mel_l1               # the curve
      baseline: val/mel_l1_griffinlim  # drawn beside it (optional)
      relative_to: start               # the metric's first value (the untrained generator) or another metric
      ratio_at_most: 0.5               # or ratio_at_least / difference_at_least
      sizes: full size                 # what the run changed from the family's real sizes, in words
      prepare: []                      # commands run first (python arguments), e.g. training a metric's model

It writes ``benchmarks/results/learning/<family>.json`` (every validation's scores against batches and
seconds, the check, the machine) and ``<family>.png`` (the curve against batches and seconds, the baseline
dashed, the pass line dotted), rewrites the table of every family's latest result (``README.md`` there, with
the vocoders' curves on the shared evaluation front-end drawn together in ``vocoders.png``), and prints PASS
or FAIL per family; the exit status is 1 if any failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from audiogan.runs.resolvers import compose_config
from audiogan.runs.run_dir import RunDir, Validation
from audiogan.utils.files import atomic_write
from audiogan.utils.images import plt
from benchmarks.timing import device_name
from benchmarks.training import families

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
EXPERIMENTS = CONF / "experiment"
RESULTS = ROOT / "benchmarks" / "results" / "learning"
RULES = ("ratio_at_most", "ratio_at_least", "difference_at_least")
# the vocoders' scores on the shared evaluation front-end (conf/evaluation/), drawn together
SHARED_METRIC = "val/shared_mel_l1"


@dataclass(frozen=True)
class Criterion:
    """What "learned" means for a family: the last ``metric`` against ``relative_to`` (``start``: the
    metric's first validation; else another metric of the last validation) by exactly one rule:
    ``ratio_at_most`` (last <= r x reference), ``ratio_at_least`` (last >= r x reference) or
    ``difference_at_least`` (last >= reference + d)."""

    metric: str
    relative_to: str
    rule: str
    threshold: float
    baseline: str | None = None

    @classmethod
    def from_config(cls, learning: dict[str, Any], source: str) -> Criterion:
        rules = [rule for rule in RULES if rule in learning]
        if len(rules) != 1 or "metric" not in learning:
            raise ValueError(f"{source}: learning needs a metric and exactly one of {', '.join(RULES)}")
        return cls(
            metric=learning["metric"],
            relative_to=learning.get("relative_to", "start"),
            rule=rules[0],
            threshold=float(learning[rules[0]]),
            baseline=learning.get("baseline"),
        )

    def pass_line(self, validations: list[Validation]) -> float:
        """The value the last ``metric`` has to reach (or stay under, for ``ratio_at_most``)."""
        if self.relative_to == "start":
            reference = validations[0].scores[self.metric]
        else:
            reference = validations[-1].scores[self.relative_to]
        if self.rule == "difference_at_least":
            return reference + self.threshold
        return reference * self.threshold

    def passed(self, validations: list[Validation]) -> bool:
        last = validations[-1].scores[self.metric]
        line = self.pass_line(validations)
        return last <= line if self.rule == "ratio_at_most" else last >= line


def learning_experiment(family: str, device: str) -> str | None:
    """The family's learning config for ``device``: the ``_cpu`` one on a CPU when it has one."""
    names = [f"{family}_learning_cpu", f"{family}_learning"] if device == "cpu" else [f"{family}_learning"]
    return next((name for name in names if (EXPERIMENTS / f"{name}.yaml").is_file()), None)


def train(experiment: str | None, run_dir: Path, device: str, *overrides: str) -> None:
    """``train.py experiment=<experiment> <overrides>`` in a subprocess, its run dir at ``run_dir``."""
    command = [
        sys.executable, str(ROOT / "train.py"), *([f"experiment={experiment}"] if experiment else []),
        *overrides, f"hydra.run.dir={run_dir}", f"trainer.accelerator={device}", "print_config=false",
        "trainer.enable_progress_bar=false",
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True)


def prepare(learning: dict[str, Any]) -> None:
    """Run the learning config's ``prepare`` commands (python arguments) from the repository root."""
    for arguments in learning.get("prepare") or []:
        subprocess.run([sys.executable, *map(str, arguments)], cwd=ROOT, check=True)


def zoomed_range(start: float, later: list[float]) -> tuple[float, float] | None:
    """The y range of the later values when the untrained start lies far outside it (the denoiser starts at
    -46 dB SI-SDR and then moves within a few dB), else None: the whole curve fits."""
    low, high = min(later), max(later)
    pad = 0.15 * max(high - low, 1e-6)
    if low - 3 * (high - low) <= start <= high + 3 * (high - low):
        return None
    return low - pad, high + pad


def plot(family: str, criterion: Criterion, validations: list[Validation], title: str, path: Path) -> None:
    """The metric against batches and against seconds, its baseline dashed, the pass line dotted; when the
    start is far off the rest, the axes show the rest and the legend names the start."""
    values = [v.scores.get(criterion.metric) for v in validations]
    baseline = [v.scores.get(criterion.baseline) for v in validations] if criterion.baseline else []
    line = criterion.pass_line(validations)
    zoom = zoomed_range(values[0], [*values[1:], *baseline, line]) if len(values) > 1 else None
    label = criterion.metric + (f" (starts at {values[0]:.3g}, off the axis)" if zoom else "")
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for axis, x_name in zip(axes, ("batches", "seconds"), strict=True):
        xs = [getattr(v, x_name) for v in validations]
        axis.plot(xs, values, "o-", label=label)
        if baseline:
            axis.plot(xs, baseline, "--", color="gray", label=criterion.baseline)
        axis.axhline(line, linestyle=":", color="green", label="pass line")
        axis.set_xlabel(f"training {x_name}")
        axis.grid(alpha=0.3)
    if zoom:
        axes[0].set_ylim(*zoom)
    axes[0].set_ylabel(criterion.metric)
    axes[0].legend(fontsize=8)
    figure.suptitle(textwrap.fill(title, 130), fontsize=9)
    figure.tight_layout()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)


def bench_family(family: str, device: str, runs: Path) -> dict[str, Any] | None:
    """Train, check, write JSON and PNG for one family; None when it has no learning config."""
    experiment = learning_experiment(family, device)
    if experiment is None:
        return None
    learning = OmegaConf.to_container(
        compose_config(CONF, [f"experiment={experiment}"]).learning, resolve=True
    )
    criterion = Criterion.from_config(learning, f"conf/experiment/{experiment}.yaml")
    prepare(learning)
    run_dir = runs / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{family}"
    started = time.monotonic()
    train(experiment, run_dir, device)
    wall = time.monotonic() - started
    run = RunDir(run_dir)
    validations = run.validations
    passed = criterion.passed(validations)
    machine = f"{device_name(torch.device(device))}, {torch.get_num_threads()} threads"
    result = {
        "family": family,
        "experiment": experiment,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "host": socket.gethostname(),
        "device": device,
        "machine": machine,
        "sizes": learning.get("sizes", "full size"),
        "budget_batches": run.budget,
        "wall_seconds": round(wall, 1),
        "criterion": asdict(criterion),
        "first": validations[0].scores[criterion.metric],
        "last": validations[-1].scores[criterion.metric],
        "pass_line": criterion.pass_line(validations),
        "passed": passed,
        "run_dir": str(run_dir),
        "validations": [asdict(v) for v in validations],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS / f"{family}.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    title = (
        f"{family}: {experiment}, {run.budget} batches in {wall / 60:.1f} min on {machine}; {result['sizes']}"
    )
    plot(family, criterion, validations, title, RESULTS / f"{family}.png")
    return result


def write_index() -> None:
    """``results/learning/README.md``: the latest result of every family, as a table and its curves."""
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "# Learning benchmark: the latest run of each family",
        "",
        "Written by `make bench-learning` (python -m benchmarks.learning); how to read it: docs/learning.md",
        "",
        "| family | config | machine | budget | sizes | metric: first -> last | needed | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        needed = ("<= " if r["criterion"]["rule"] == "ratio_at_most" else ">= ") + f"{r['pass_line']:.3g}"
        lines.append(
            f"| {r['family']} | `experiment={r['experiment']}` | {r['machine']} ({r['created'][:10]}) | "
            f"{r['budget_batches']} batches, {r['wall_seconds'] / 60:.1f} min | {r['sizes']} | "
            f"{r['criterion']['metric']}: {r['first']:.3g} -> {r['last']:.3g} | {needed} | "
            f"{'PASS' if r['passed'] else 'FAIL'} |"
        )
    shared = [r for r in results if any(SHARED_METRIC in v["scores"] for v in r["validations"])]
    if shared:
        plot_shared(shared, RESULTS / "vocoders.png")
        lines += [
            "",
            f"## The vocoders on one scale: `{SHARED_METRIC}`",
            "",
            "Every vocoder's held-out clips scored on the shared evaluation front-end (conf/evaluation/: "
            "22.05 kHz, 80 Slaney mels over the full band, natural log), whatever its own front-end, so the "
            "curves compare. Each family at its learning config's sizes (the table above).",
            "",
            "| family | first -> last |",
            "|---|---|",
            *(f"| {r['family']} | {_shared(r, 0):.3g} -> {_shared(r, -1):.3g} |" for r in shared),
            "",
            "![vocoders on one scale](vocoders.png)",
        ]
    write_table(RESULTS, lines, results)


def _shared(result: dict[str, Any], index: int) -> float:
    return [v["scores"][SHARED_METRIC] for v in result["validations"] if SHARED_METRIC in v["scores"]][index]


def plot_shared(results: list[dict[str, Any]], path: Path) -> None:
    """Every family's ``SHARED_METRIC`` against batches and against seconds, one line each."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for r in results:
        points = [v for v in r["validations"] if SHARED_METRIC in v["scores"]]
        for axis, x_name in zip(axes, ("batches", "seconds"), strict=True):
            xs = [v[x_name] for v in points]
            axis.plot(xs, [v["scores"][SHARED_METRIC] for v in points], "o-", label=r["family"])
    for axis, x_name in zip(axes, ("batches", "seconds"), strict=True):
        axis.set_xlabel(f"training {x_name}")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel(SHARED_METRIC)
    axes[0].legend(fontsize=8)
    figure.suptitle(
        "vocoders on the shared evaluation front-end (each at its learning config's sizes)", fontsize=9
    )
    figure.tight_layout()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)


def write_table(folder: Path, lines: list[str], results: list[dict[str, Any]]) -> None:
    """``folder/README.md``: the table ``lines``, then each family's curves (``<family>.png``)."""
    lines = [*lines, "", *(f"![{r['family']}]({r['family']}.png)" for r in results), ""]
    with atomic_write(folder / "README.md") as tmp:
        tmp.write_text("\n".join(lines))


def main(argv: list[str]) -> int:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs = Path(os.environ.get("AUDIOGAN_LOG_DIR", ROOT / "outputs")) / "learning"
    failed = []
    for family in argv or families():
        result = bench_family(family, device, runs)
        if result is None:
            print(f"{family}: no learning config (conf/experiment/{family}_learning[_cpu].yaml)")
            continue
        verdict = "PASS" if result["passed"] else "FAIL"
        criterion = result["criterion"]
        print(
            f"{verdict} {family}: {criterion['metric']} {result['first']:.4g} -> {result['last']:.4g} "
            f"(needed {'<=' if criterion['rule'] == 'ratio_at_most' else '>='} {result['pass_line']:.4g}) "
            f"after {result['budget_batches']} batches, {result['wall_seconds'] / 60:.1f} min; "
            f"{result['sizes']}"
        )
        if not result["passed"]:
            failed.append(family)
    write_index()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
