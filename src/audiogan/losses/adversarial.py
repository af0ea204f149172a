"""Adversarial objectives over one or several discriminator outputs (multi-scale D gives a list).

Every objective sums its per-output means over the outputs, as MelGAN does over its scales.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

Logits = Sequence[torch.Tensor]


class AdversarialLoss:
    """Interface: ``discriminator(real, fake)`` and ``generator(fake)`` on lists of logits."""

    def discriminator(self, real: Logits, fake: Logits) -> torch.Tensor:
        raise NotImplementedError

    def generator(self, fake: Logits) -> torch.Tensor:
        raise NotImplementedError


class LSGANLoss(AdversarialLoss):
    """Least squares GAN (Mao et al. 2017): D pushes real to 1 and fake to 0, G pushes fake to 1.

    ``real_fake_average`` halves the D loss, (L_real + L_fake) / 2, the project's MelGAN default.
    """

    def __init__(self, real_fake_average: bool = True):
        self.d_scale = 0.5 if real_fake_average else 1.0

    def discriminator(self, real: Logits, fake: Logits) -> torch.Tensor:
        terms = [((1 - r) ** 2).mean() + (f**2).mean() for r, f in zip(real, fake, strict=True)]
        return self.d_scale * torch.stack(terms).sum()

    def generator(self, fake: Logits) -> torch.Tensor:
        return torch.stack([((1 - f) ** 2).mean() for f in fake]).sum()


class HingeLoss(AdversarialLoss):
    """Hinge loss: D relu(1 - real) + relu(1 + fake); G -fake as the original MelGAN code, or with
    ``generator_hinge`` relu(1 - fake) as Vocos (no gain from pushing a fake past the margin)."""

    def __init__(self, generator_hinge: bool = False):
        self.generator_hinge = generator_hinge

    def discriminator(self, real: Logits, fake: Logits) -> torch.Tensor:
        terms = [F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake, strict=True)]
        return torch.stack(terms).sum()

    def generator(self, fake: Logits) -> torch.Tensor:
        if self.generator_hinge:
            return torch.stack([F.relu(1 - f).mean() for f in fake]).sum()
        return torch.stack([-f.mean() for f in fake]).sum()


class WassersteinLoss(AdversarialLoss):
    """Wasserstein critic loss (use with a gradient penalty): D fake - real, G -fake."""

    def discriminator(self, real: Logits, fake: Logits) -> torch.Tensor:
        return torch.stack([f.mean() - r.mean() for r, f in zip(real, fake, strict=True)]).sum()

    def generator(self, fake: Logits) -> torch.Tensor:
        return torch.stack([-f.mean() for f in fake]).sum()


class BCELoss(AdversarialLoss):
    """Non-saturating GAN on logits with one-sided label smoothing (real target 1 - smoothing).

    ``real_fake_average`` halves the D loss, (L_real + L_fake) / 2, as pix2pix-style BCE discriminators do
    (Isola et al. 2017, arXiv 1611.07004): a D that separates real from fake then scores below ln 2 / 2 at
    any smoothing (the smoothed real term alone is at least the entropy of its target, 0.325 at 0.9), so a
    ``d_loss_threshold`` such as 0.3 can tell it from one that does not (ln 2 = 0.693 at chance).
    """

    def __init__(self, label_smoothing: float = 0.0, real_fake_average: bool = True):
        self.real_target = 1.0 - label_smoothing
        self.d_scale = 0.5 if real_fake_average else 1.0

    def discriminator(self, real: Logits, fake: Logits) -> torch.Tensor:
        terms = [
            F.binary_cross_entropy_with_logits(r, torch.full_like(r, self.real_target))
            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
            for r, f in zip(real, fake, strict=True)
        ]
        return self.d_scale * torch.stack(terms).sum()

    def generator(self, fake: Logits) -> torch.Tensor:
        return torch.stack([F.binary_cross_entropy_with_logits(f, torch.ones_like(f)) for f in fake]).sum()
