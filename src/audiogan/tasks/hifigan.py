"""HiFi-GAN vocoder task (Kong, Kim & Bae, NeurIPS 2020, arXiv 2010.05646; https://github.com/jik876/hifi-gan).

The same mel-in, waveform-out task as MelGAN (data, validation next to Griffin-Lim, inference, ``vocode``,
export, ``vocoder_ckpt``), with HiFi-GAN's generator objective.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.features import LogMelSpectrogram
from audiogan.export import inference_copy
from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.tasks.melgan import MelGANTask


class HiFiGANTask(MelGANTask):
    """Generator loss = adversarial + ``loss_weights.feature_matching`` x feature matching over every feature
    map of every sub-discriminator (summed over them, logits included, as the official code) +
    ``loss_weights.mel_l1`` x L1 between the log-mels of real and generated audio.

    The loss mel is the input front-end with ``fmax=loss_mel_fmax`` (None: full band), the generator's input
    mel stays band-limited (``audio.fmax``). Feature-matching targets come from the discriminator as updated
    on this batch (it scores the real audio again in the generator step), as the official code does.
    """

    def __init__(self, loss_weights: Any, loss_mel_fmax: float | None = None, **engine: Any):
        super().__init__(loss_weights, **engine)
        self.loss_mel = LogMelSpectrogram(dataclasses.replace(self.audio, fmax=loss_mel_fmax))

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        real_audio, fake_audio = batch["audio"].unsqueeze(1), generated["fake"]
        logs: dict[str, torch.Tensor] = {}
        mel_l1 = F.l1_loss(self.loss_mel(fake_audio), self.loss_mel(real_audio))
        mel_weight = self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1
        loss = mel_weight * mel_l1
        logs["train/g_mel_l1"] = mel_l1
        if adversarial:
            n = real_audio.shape[0]
            both = self.discriminator(torch.cat([real_audio, fake_audio]))
            real = [[f[:n].detach() for f in branch] for branch in both]
            fake = [[f[n:] for f in branch] for branch in both]
            adv = self.adversarial.generator([branch[-1] for branch in fake])
            fm = len(fake) * feature_matching_loss(real, fake, self.weights.feature_matching_layer)
            loss = loss + adv + self.weights.feature_matching * fm
            logs["train/g_adv"] = adv
            logs["train/g_feature_matching"] = fm
        logs["train/g_loss"] = loss
        return loss, logs

    def inference_generator(self) -> nn.Module:
        """An eval-mode copy with weight norm baked in (13,926,017 parameters for V1)."""
        return inference_copy(self.generator)
