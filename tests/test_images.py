"""Spectrogram pictures: several spectrograms stacked on one colour scale, grids."""

from __future__ import annotations

import numpy as np
import torch

from audiogan.utils.images import render_grid, render_spectrograms


def _row_colours(image: np.ndarray, rows: int) -> list[np.ndarray]:
    """The pixel in the middle of each stacked row (the plot area sits left of the colour bar)."""
    height, width, _ = image.shape
    return [image[int(height * (i + 0.5) / rows), int(width * 0.4)] for i in range(rows)]


def test_stacked_spectrograms_share_one_colour_scale():
    quiet, loud = torch.zeros(20, 30), torch.ones(20, 30)
    image = render_spectrograms({"reference": quiet, "generated": loud, "baseline": quiet}, "clip0")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    reference, generated, baseline = _row_colours(image, 3)
    assert not np.array_equal(reference, generated)  # separate scales would paint both constant rows alike
    assert np.array_equal(reference, baseline)


def test_rows_of_different_lengths_and_non_finite_values_render():
    image = render_spectrograms({"a": torch.randn(8, 40), "b": torch.full((8, 25), float("-inf"))}, "t")
    assert image.ndim == 3


def test_grid_holds_every_spectrogram():
    assert render_grid(torch.randn(6, 16, 16), columns=4).ndim == 3
