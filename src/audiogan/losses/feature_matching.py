"""Feature matching: L1 between discriminator activations of real and generated audio."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def feature_matching_loss(
    real_features: Sequence[Sequence[torch.Tensor]],
    fake_features: Sequence[Sequence[torch.Tensor]],
    layer_weight: float = 1.0,
) -> torch.Tensor:
    """Mean over discriminators of the summed per-layer L1, real side detached.

    Each inner sequence holds one discriminator's feature maps with the logits (the last entry)
    excluded by the caller. The original MelGAN weights each term by 4 / (n_layers + 1) and by
    1 / num_D; ``layer_weight`` carries the first factor, the mean over discriminators the second.
    """
    per_discriminator = [
        torch.stack(
            [torch.nn.functional.l1_loss(f, r.detach()) for r, f in zip(reals, fakes, strict=True)]
        ).sum()
        for reals, fakes in zip(real_features, fake_features, strict=True)
    ]
    return layer_weight * torch.stack(per_discriminator).mean()
