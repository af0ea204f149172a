"""What a validation shows a listener: the :class:`Sample` a family's ``evaluate`` returns, which the sample
logger saves and the listening report reads back. Plain data, so neither of them imports a task."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

# what an audio example of a Sample is, in the order a listener meets them
SAMPLE_ROLES = ("input", "reference", "output", "baseline")


@dataclass
class Sample:
    """One held-out example as the sample logger saves and shows it.

    ``audio``: {label: waveform [T] in [-1, 1] at ``sample_rate``}; ``spectrograms``: {label: [bins, frames]}
    (log-mel or normalised spectrogram), rendered to images by the logger; ``images``: {label: RGB uint8
    [H, W, 3]} rendered by the family (e.g. a grid of generated spectrograms). ``roles``: {audio label: one
    of ``SAMPLE_ROLES``} for what is not the model's output (the input it was given, the reference it should
    match, a baseline it should beat); an audio label not named is an ``output``.
    """

    name: str
    sample_rate: int | None = None
    audio: dict[str, torch.Tensor] = field(default_factory=dict)
    spectrograms: dict[str, torch.Tensor] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {label: role for label, role in self.roles.items() if role not in SAMPLE_ROLES}
        if unknown:
            raise ValueError(f"sample {self.name!r}: roles {unknown}; expected roles among {SAMPLE_ROLES}")

    def audio_roles(self) -> dict[str, str]:
        """{audio label: role}, in the order of ``SAMPLE_ROLES`` (input, reference, output, baseline)."""
        roles = {label: self.roles.get(label, "output") for label in self.audio}
        return dict(sorted(roles.items(), key=lambda item: SAMPLE_ROLES.index(item[1])))
