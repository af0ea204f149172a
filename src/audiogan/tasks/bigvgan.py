"""BigVGAN vocoder (Lee et al. 2023, arXiv 2206.04658; https://github.com/NVIDIA/BigVGAN): HiFi-GAN's
objectives with BigVGAN's discriminators and, in v2, the multi-scale mel loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from audiogan.losses.spectral import MultiScaleMelLoss
from audiogan.tasks.bigvgan_release import BigVGANRelease
from audiogan.tasks.hifigan import HiFiGANTask
from audiogan.utils.config import to_dict


class BigVGANTask(HiFiGANTask):
    """HiFi-GAN's losses (LSGAN summed over every sub-discriminator, feature matching over what the
    discriminator's ``matched_features`` gives) with the mel term of the release's recipe:
    ``multiscale_mel`` ({window_lengths, n_mels}: v2's :class:`MultiScaleMelLoss` on the waveforms, weighed
    by ``loss_weights.mel_l1``) or, when null, v1's single mel L1 on ``audio.loss_mel``.
    """

    release_layouts = (BigVGANRelease,)

    def __init__(self, multiscale_mel: Mapping[str, Any] | None = None, **vocoder: Any):
        super().__init__(**vocoder)
        self.multiscale_mel = (
            MultiScaleMelLoss(self.audio_config.sample_rate, **to_dict(multiscale_mel))
            if multiscale_mel
            else None
        )

    def weighted_mel_l1(self, batch, generated, adversarial: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(the generator's mel term, its unweighted distance): v2's multi-scale distance where configured."""
        if self.multiscale_mel is None:
            return super().weighted_mel_l1(batch, generated, adversarial)
        distance = self.multiscale_mel(generated["fake"], batch["audio"])
        return (self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1) * distance, distance
