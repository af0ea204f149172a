"""``make bench-finetune``: does starting from a released vocoder beat starting from zero on a new voice?

Run: ``python -m benchmarks.finetuning [hifigan] [melgan]`` (both when none is named).

For a family, ``conf/experiment/<family>_finetune_learning_cpu.yaml`` (``_learning`` on a GPU, where one
exists) names, in its ``finetuning`` block, how a stand-in for a released model is trained (``release``:
train.py overrides; five voices of the embedded corpus). The benchmark trains it, writes its generator in the
official layout (``infer.py export=official``: jik876/hifi-gan's g_ + config.json, melgan-neurips' bare
state_dict), then trains the experiment twice on the voice the release never heard: from that file
(``init_from=``, read as a release, as a user's download would be) and from scratch, the same batches in the
same order. PASS when the fine-tuned run has the lower ``metric`` at every validation, the first (before any
batch) included. It writes ``benchmarks/results/finetuning/<family>.json`` (both runs' validations) and
``<family>.png`` (each of ``curves`` against batches, both runs), the table of the latest results
(``README.md`` there), and prints PASS or FAIL; the exit status is 1 if any failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from audiogan.runs.layouts import find_layout
from audiogan.runs.resolvers import compose_config
from audiogan.runs.run_dir import RunDir, Validation
from audiogan.utils.files import atomic_write
from audiogan.utils.images import plt
from benchmarks.learning import CONF, EXPERIMENTS, ROOT, train, write_table
from benchmarks.timing import device_name

RESULTS = ROOT / "benchmarks" / "results" / "finetuning"
FAMILIES = ("hifigan", "melgan")


def experiment_for(family: str, device: str) -> str:
    names = [f"{family}_finetune_learning_cpu", f"{family}_finetune_learning"] if device == "cpu" else []
    names += [f"{family}_finetune_learning"]
    name = next((n for n in names if (EXPERIMENTS / f"{n}.yaml").is_file()), None)
    if name is None:
        raise SystemExit(f"{family}: no conf/experiment/{family}_finetune_learning[_cpu].yaml")
    return name


def release_file(folder: Path) -> Path:
    """The file of ``folder`` (what export=official wrote) that a release layout recognises."""
    found = [path for path in sorted(folder.iterdir()) if find_layout(path) is not None]
    if not found:
        raise RuntimeError(f"export=official wrote nothing a release layout recognises in {folder}")
    return found[0]


def write_release(overrides: list[str], run_dir: Path, device: str) -> Path:
    """Train the stand-in release and write its generator in the official layout; returns its file."""
    train(None, run_dir, device, *overrides)
    official = run_dir / "official"
    command = [
        sys.executable, str(ROOT / "infer.py"), f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        "export=official", f"output_dir={official}",
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True)
    return release_file(official)


def plot(family: str, curves: list[str], runs: dict[str, list[Validation]], title: str, path: Path) -> None:
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.8))
    for axis, metric in zip(axes, curves, strict=True):
        for (name, validations), style in zip(runs.items(), ("o-", "s--"), strict=True):
            axis.plot(
                [v.batches for v in validations], [v.scores[metric] for v in validations], style, label=name
            )
        axis.set_xlabel("training batches on the new voice")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(textwrap.fill(title, 130), fontsize=9)
    figure.tight_layout()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)


def bench_family(family: str, device: str, runs: Path) -> dict[str, Any]:
    experiment = experiment_for(family, device)
    spec = OmegaConf.to_container(compose_config(str(CONF), [f"experiment={experiment}"]).finetuning)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    started = time.monotonic()
    release = write_release(list(spec["release"]), runs / f"{stamp}_{family}_release", device)
    dirs = {
        "fine-tuned": runs / f"{stamp}_{family}_finetuned",
        "from scratch": runs / f"{stamp}_{family}_scratch",
    }
    train(experiment, dirs["fine-tuned"], device, f"init_from={release}")
    train(experiment, dirs["from scratch"], device)
    wall = time.monotonic() - started
    validations = {name: RunDir(path).validations for name, path in dirs.items()}
    metric = spec["metric"]
    pairs = list(zip(validations["fine-tuned"], validations["from scratch"], strict=True))
    passed = all(tuned.scores[metric] < scratch.scores[metric] for tuned, scratch in pairs)
    machine = f"{device_name(torch.device(device))}, {torch.get_num_threads()} threads"
    result = {
        "family": family,
        "experiment": experiment,
        "release": {"trained with": spec["release"], "file": release.name},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "host": socket.gethostname(),
        "machine": machine,
        "sizes": spec.get("sizes", "full size"),
        "wall_seconds": round(wall, 1),
        "criterion": f"{metric} of the fine-tuned run below the scratch run's at every validation",
        "passed": passed,
        "runs": {
            name: {"run_dir": str(dirs[name]), "validations": [vars(v) for v in vs]}
            for name, vs in validations.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS / f"{family}.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    title = (
        f"{family}: {experiment} from {release.name} (trained on five other voices) and from scratch, on "
        f"{machine}; {result['sizes']}"
    )
    plot(family, list(spec["curves"]), validations, title, RESULTS / f"{family}.png")
    return result


def write_index() -> None:
    """``results/finetuning/README.md``: the latest result of each family, as a table and its curves."""
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "# Fine-tuning benchmark: the latest run of each family",
        "",
        "Written by `make bench-finetune` (python -m benchmarks.finetuning); how to read it: "
        "docs/learning.md",
        "",
        "| family | config | machine | sizes | val/mel_l1 per validation: fine-tuned / scratch | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        tuned, scratch = (r["runs"][name]["validations"] for name in ("fine-tuned", "from scratch"))
        pairs = ", ".join(
            f"{a['scores']['val/mel_l1']:.3g} / {b['scores']['val/mel_l1']:.3g}"
            for a, b in zip(tuned, scratch, strict=True)
        )
        lines.append(
            f"| {r['family']} | `experiment={r['experiment']}` | {r['machine']} ({r['created'][:10]}) | "
            f"{r['sizes']} | {pairs} | {'PASS' if r['passed'] else 'FAIL'} |"
        )
    write_table(RESULTS, lines, results)


def main(argv: list[str]) -> int:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs = Path(os.environ.get("AUDIOGAN_LOG_DIR", ROOT / "outputs")) / "finetuning"
    failed = []
    for family in argv or FAMILIES:
        result = bench_family(family, device, runs)
        verdict = "PASS" if result["passed"] else "FAIL"
        print(f"{verdict} {family}: {result['criterion']} ({result['wall_seconds'] / 60:.1f} min in all)")
        if not result["passed"]:
            failed.append(family)
    write_index()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
