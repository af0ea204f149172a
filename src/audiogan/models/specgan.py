"""SpecGAN generator and discriminator (Donahue et al. ICLR 2019, official-code layout).

Spectrograms are [B, 1, freq=128, time=128] with the lowest frequency at index 0 (torch.stft's order, see
:mod:`audiogan.audio.spectrogram`). The original is NHWC with time on axis 1 and frequency on axis 2, i.e. the
transpose of ours; with square kernels and equal strides on both axes the networks are the same up to that
relabelling, so shapes and parameter counts match (the counts: conf/model/specgan.yaml). TF's 'SAME'
padding is asymmetric (1 before, 2 after), so the spatial alignment differs from the original by one pixel.
"""

from __future__ import annotations

import torch
from torch import nn

_BASE = 4  # spatial size of the dense layer's output; five stride-2 stages take it to 128


def _init_like_tf(module: nn.Module) -> None:
    """TF1's default initialisers, as the original trains with: Glorot-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class SpecGANGenerator(nn.Module):
    """Latent z [B, latent_dim] in [-1, 1] -> normalised log-magnitude [B, 1, 128, 128] in [-1, 1] (tanh).

    ``use_batchnorm`` puts BatchNorm after the dense layer and upconvs 0-3, as ``--specgan_batchnorm``.
    """

    def __init__(
        self, latent_dim: int = 100, dim: int = 64, kernel_size: int = 5, use_batchnorm: bool = False
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.channels = 16 * dim
        self.dense = nn.Linear(latent_dim, _BASE * _BASE * self.channels)
        self.dense_act = nn.Sequential(*([nn.BatchNorm2d(self.channels)] if use_batchnorm else []), nn.ReLU())
        # TF 'same' transposed conv, stride 2: exactly doubles the size for any kernel size.
        output_padding = kernel_size % 2
        padding = (kernel_size - 2 + output_padding) // 2
        widths = [16 * dim, 8 * dim, 4 * dim, 2 * dim, dim, 1]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.ConvTranspose2d(c_in, c_out, kernel_size, 2, padding, output_padding))
            if i < len(widths) - 2:
                layers += [nn.BatchNorm2d(c_out)] if use_batchnorm else []
                layers.append(nn.ReLU())
        layers.append(nn.Tanh())
        self.upconvs = nn.Sequential(*layers)
        _init_like_tf(self)

    def sample_latent(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """z ~ U[-1, 1]^latent_dim as the original (not Gaussian); on the model's device unless told."""
        device = device if device is not None else self.dense.weight.device
        return torch.rand(n, self.latent_dim, generator=generator, device=device) * 2 - 1

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.dense(z).view(z.shape[0], self.channels, _BASE, _BASE)
        return self.upconvs(self.dense_act(x))


class SpecGANDiscriminator(nn.Module):
    """Spectrogram [B, 1, 128, 128] -> one unbounded logit per example, shape [B] (WGAN critic score).

    ``use_batchnorm`` puts BatchNorm after conv layers 1-4; the first layer never has one, as the original.
    """

    def __init__(self, dim: int = 64, kernel_size: int = 5, use_batchnorm: bool = False):
        super().__init__()
        widths = [1, dim, 2 * dim, 4 * dim, 8 * dim, 16 * dim]
        blocks = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            # TF 'SAME' conv, stride 2: halves the size.
            conv = nn.Conv2d(c_in, c_out, kernel_size, 2, (kernel_size - 1) // 2)
            norm = [nn.BatchNorm2d(c_out)] if use_batchnorm and i > 0 else []
            blocks.append(nn.Sequential(conv, *norm, nn.LeakyReLU(0.2)))
        self.blocks = nn.Sequential(*blocks)
        self.dense = nn.Linear(_BASE * _BASE * widths[-1], 1)
        _init_like_tf(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.blocks(x).flatten(1)).squeeze(1)
