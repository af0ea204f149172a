"""WGAN-GP gradient penalty (Gulrajani et al. 2017), as SpecGAN / WaveGAN compute it."""

from __future__ import annotations

from collections.abc import Callable

import torch


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight * mean((||grad_x D(x_hat)|| - 1)^2)`` on x_hat = real + alpha (fake - real), alpha ~ U(0, 1).

    One alpha per example (``generator`` on ``real``'s device seeds it). The gradient is taken with
    ``create_graph=True`` so the penalty trains D, and its norm runs over all non-batch axes. x_hat is a
    detached leaf: the penalty reaches D's parameters only, never G's. D runs under the caller's autocast;
    the norm and penalty are float32. Returns (penalty, mean gradient norm, detached for logging).
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator, device=real.device)
    real, fake = real.detach().float(), fake.detach().float()
    x_hat = (real + alpha * (fake - real)).requires_grad_(True)
    scores = discriminator(x_hat)
    (grad,) = torch.autograd.grad(scores.float().sum(), x_hat, create_graph=True)
    with torch.autocast(real.device.type, enabled=False):
        norm = grad.float().flatten(1).norm(dim=1)
        penalty = weight * ((norm - 1) ** 2).mean()
    return penalty, norm.mean().detach()
