"""MelGAN vocoder (Kumar et al., NeurIPS 2019, arXiv 1910.06711; https://github.com/descriptinc/melgan-neurips):
its generator objective on the vocoder base, and its fast inference copy."""

from __future__ import annotations

import torch

from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.tasks.melgan_release import MelGANRelease
from audiogan.tasks.vocoder import VocoderTask


class MelGANTask(VocoderTask):
    """Generator loss = adversarial + ``loss_weights.feature_matching`` x feature matching (+ optional mel L1,
    0 by default as in the original; warm-up batches use mel L1 alone). Feature-matching targets are D's
    activations on the real audio from the discriminator step of the same batch, as in the original."""

    release_layouts = (MelGANRelease,)

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        fake_audio = generated["fake"]
        logs = {}
        loss = fake_audio.new_zeros((), dtype=torch.float32)
        mel_weight = self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1
        if mel_weight:
            fake_mel, real_mel = self.mel_loss_pair(batch, generated)
            mel_l1 = (fake_mel - real_mel).abs().mean()
            loss = loss + mel_weight * mel_l1
            logs["train/g_mel_l1"] = mel_l1
        if adversarial:
            fake = self.discriminator(fake_audio)
            adv = self.gan_loss.generator([branch[-1] for branch in fake])
            loss = loss + adv
            logs["train/g_adv"] = adv
            if self.weights.feature_matching:
                fm = feature_matching_loss(
                    from_discriminator["real_features"],
                    [branch[:-1] for branch in fake],
                    self.weights.feature_matching_layer,
                )
                loss = loss + self.weights.feature_matching * fm
                logs["train/g_feature_matching"] = fm
        logs["train/g_loss"] = loss
        return loss, logs
