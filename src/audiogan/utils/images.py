"""Images of spectrograms for people: stacked comparisons and grids, as RGB arrays and PNG files."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import torch

from audiogan.utils.files import atomic_write

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)


def _to_rgb(figure) -> np.ndarray:
    figure.canvas.draw()
    rgb = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return rgb


def render_spectrograms(spectrograms: dict[str, torch.Tensor], title: str) -> np.ndarray:
    """One RGB image [H, W, 3] (uint8) of several spectrograms [bins, frames], one row per label in the dict's
    order, on one shared colour scale (so a darker row is quieter, not rescaled), low bins at the bottom.
    Rows of different lengths share the time axis of the longest."""
    arrays = {label: s.detach().float().cpu().numpy() for label, s in spectrograms.items()}
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays.values()])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    frames = max(a.shape[-1] for a in arrays.values())
    figure, axes = plt.subplots(len(arrays), 1, figsize=(8, 1 + 2 * len(arrays)), dpi=100, squeeze=False)
    for axis, (label, array) in zip(axes[:, 0], arrays.items(), strict=True):
        image = axis.imshow(array, origin="lower", aspect="auto", interpolation="none", vmin=vmin, vmax=vmax)
        axis.set(xlim=(-0.5, frames - 0.5), ylabel=f"{label}\nbin")
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("frame")
    figure.colorbar(image, ax=axes[:, 0].tolist())
    return _to_rgb(figure)


def render_grid(spectrograms: torch.Tensor, columns: int = 4) -> np.ndarray:
    """One RGB image [H, W, 3] (uint8) of N spectrograms [N, bins, frames] in a grid, low bins at bottom."""
    count = spectrograms.shape[0]
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2 * rows), dpi=100, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index < count:
            axis.imshow(spectrograms[index].detach().float().cpu().numpy(), origin="lower", aspect="auto")
    figure.tight_layout(pad=0.2)
    return _to_rgb(figure)


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG, atomically."""
    with atomic_write(path) as tmp:
        plt.imsave(tmp, image, format="png")
