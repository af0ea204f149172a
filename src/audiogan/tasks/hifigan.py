"""HiFi-GAN vocoder (Kong, Kim & Bae, NeurIPS 2020, arXiv 2010.05646; https://github.com/jik876/hifi-gan): its
generator objective on the vocoder base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.models.layers import joint_pass
from audiogan.tasks.hifigan_release import HiFiGANRelease
from audiogan.tasks.vocoder import VocoderTask


class HiFiGANTask(VocoderTask):
    """Generator loss = adversarial + ``loss_weights.feature_matching`` x feature matching over the feature
    maps of every sub-discriminator (summed over them; those the discriminator's ``matched_features`` gives:
    HiFi-GAN's every map, logits included, as the official code) +
    ``loss_weights.mel_l1`` x L1 between the log-mels of real and generated audio on the loss front-end
    (``audio.loss_mel``: the full band). Feature-matching targets come from the discriminator as updated on
    this batch (it scores the real audio again in the generator step), as the official code does.
    """

    release_layouts = (HiFiGANRelease,)

    @classmethod
    def rename_old_arguments(cls, arguments: dict[str, Any]) -> list[str]:
        """0.1's ``loss_mel_fmax`` is the front-end's ``loss_mel.fmax`` now."""
        renamed = super().rename_old_arguments(arguments)
        if "loss_mel_fmax" in arguments:
            config: Mapping[str, Any] = arguments.get("audio_config") or {}
            arguments["audio_config"] = {**config, "loss_mel": {"fmax": arguments.pop("loss_mel_fmax")}}
            renamed.append("loss_mel_fmax -> audio_config.loss_mel.fmax")
        return renamed

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        loss, mel_l1 = self.weighted_mel_l1(batch, generated, adversarial)
        logs: dict[str, torch.Tensor] = {"train/g_mel_l1": mel_l1}
        if adversarial:
            real, fake = joint_pass(self.discriminator, batch["audio"].unsqueeze(1), generated["fake"])
            adv = self.gan_loss.generator([branch[-1] for branch in fake])
            real = [[f.detach() for f in branch] for branch in self.discriminator.matched_features(real)]
            fake = self.discriminator.matched_features(fake)
            fm = len(fake) * feature_matching_loss(real, fake, self.weights.feature_matching_layer)
            loss = loss + adv + self.weights.feature_matching * fm
            logs["train/g_adv"] = adv
            logs["train/g_feature_matching"] = fm
        logs["train/g_loss"] = loss
        return loss, logs
