"""A run's validation metrics over training, each next to the baselines logged beside it."""

from __future__ import annotations

import math
import os

from audiogan.runs.run_dir import Validation
from audiogan.utils.images import plt

COLUMNS = 3


def paired_metrics(names: list[str]) -> dict[str, list[str]]:
    """{metric: its baselines}: ``val/<m>_<suffix>`` is a baseline of ``val/<m>`` when that is logged too (the
    longest such ``<m>`` when several are: ``val/mel_l1_griffinlim`` goes with ``val/mel_l1``)."""
    pairs: dict[str, list[str]] = {}
    for name in sorted(names, key=len):
        bases = [base for base in pairs if name.startswith(f"{base}_")]
        if bases:
            pairs[max(bases, key=len)].append(name)
        else:
            pairs[name] = []
    return dict(sorted(pairs.items()))


def plot_metrics(path: str | os.PathLike, validations: list[Validation], title: str) -> bool:
    """One PNG, a panel per metric: its values by training batch (solid), its baselines dashed. False (and
    nothing written) when the run logged no validation."""
    names = sorted({name for v in validations for name in v.scores})
    if not names:
        return False
    pairs = paired_metrics(names)
    rows = math.ceil(len(pairs) / COLUMNS)
    columns = min(COLUMNS, len(pairs))
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.8 * rows), dpi=80, squeeze=False)
    for axis in axes.flat[len(pairs) :]:
        axis.set_axis_off()
    for axis, (metric, baselines) in zip(axes.flat, pairs.items(), strict=False):
        for name in [metric, *baselines]:
            points = [(v.batches, v.scores[name]) for v in validations if name in v.scores]
            batches, values = zip(*points, strict=True) if points else ((), ())
            style = "-" if name == metric else "--"
            axis.plot(batches, values, style, marker="o", markersize=3, label=name.removeprefix("val/"))
        axis.set(title=metric.removeprefix("val/"), xlabel="batch")
        axis.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return True
