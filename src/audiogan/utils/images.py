"""Images of spectrograms for people: single mel plots and grids, as RGB arrays and PNG files."""

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


def render_mel(mel: torch.Tensor, title: str) -> np.ndarray:
    """An RGB image [H, W, 3] (uint8) of a log-mel, low frequencies at the bottom."""
    figure, axis = plt.subplots(figsize=(8, 3), dpi=100)
    image = axis.imshow(
        mel.detach().float().cpu().numpy(), origin="lower", aspect="auto", interpolation="none"
    )
    axis.set(title=title, xlabel="frame", ylabel="mel bin")
    figure.colorbar(image, ax=axis)
    figure.tight_layout()
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
