"""Vocos vocoder (Siuzdak 2023, arXiv 2306.00814; https://github.com/gemelo-ai/vocos): its objectives on the
vocoder base, with the multi-period and multi-resolution discriminators weighed apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.models.layers import joint_pass
from audiogan.models.vocos import exportable
from audiogan.tasks.vocoder import VocoderTask
from audiogan.tasks.vocos_release import VocosRelease
from audiogan.utils.config import to_dict

Branches = list[list[torch.Tensor]]


class VocosTask(VocoderTask):
    """D loss = sum over the discriminator's groups (MPD, MRD: ``discriminator.groups``) of
    ``discriminator_weights[group]`` x the adversarial loss averaged over the group's sub-discriminators.
    Generator loss = the same weighting of each group's adversarial term and of its feature matching
    (``loss_weights.feature_matching`` x the per-branch sum over feature maps, logits included, averaged
    over the group) + ``loss_weights.mel_l1`` x L1 between the log-mels of real and generated audio. Feature
    targets come from the D as updated on this batch, as the official code does.
    """

    release_layouts = (VocosRelease,)

    def __init__(self, discriminator_weights: Mapping[str, float], **vocoder: Any):
        super().__init__(**vocoder)
        self.discriminator_weights = dict(to_dict(discriminator_weights))
        names = [name for name, _ in self.discriminator.groups]
        if sorted(self.discriminator_weights) != sorted(names):
            raise ValueError(
                f"model.task.discriminator_weights: keys {sorted(self.discriminator_weights)}; the "
                f"discriminator's groups are {names}"
            )

    def export_generator(self):
        """The inference copy with an inverse STFT of real-valued operations (ONNX has no inverse STFT and no
        complex tensors; :class:`audiogan.models.vocos.DFTInverseSTFT`, within 1e-5 of torch.istft)."""
        return exportable(super().export_generator())

    def _groups(self, branches: Branches) -> dict[str, Branches]:
        """The branches of each discriminator group, by name, in the discriminator's order."""
        groups, start = {}, 0
        for name, count in self.discriminator.groups:
            groups[name], start = branches[start : start + count], start + count
        return groups

    def discriminator_loss(self, batch, generated):
        real, fake = joint_pass(self.discriminator, batch["audio"].unsqueeze(1), generated["fake"].detach())
        real_groups, fake_groups = self._groups(real), self._groups(fake)
        logs, loss = {}, 0.0
        for name, weight in self.discriminator_weights.items():
            r = [branch[-1] for branch in real_groups[name]]
            f = [branch[-1] for branch in fake_groups[name]]
            term = self.gan_loss.discriminator(r, f) / len(r)
            logs[f"train/d_loss_{name}"] = term
            loss = loss + weight * term
        logs["train/d_loss"] = loss
        logs["train/d_real"] = torch.stack([branch[-1].mean() for branch in real]).mean()
        logs["train/d_fake"] = torch.stack([branch[-1].mean() for branch in fake]).mean()
        return loss, logs, {}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        loss, mel_l1 = self.weighted_mel_l1(batch, generated, adversarial)
        logs: dict[str, torch.Tensor] = {"train/g_mel_l1": mel_l1}
        if adversarial:
            real, fake = joint_pass(self.discriminator, batch["audio"].unsqueeze(1), generated["fake"])
            real_groups, fake_groups = self._groups(real), self._groups(fake)
            for name, weight in self.discriminator_weights.items():
                reals = [[f.detach() for f in branch] for branch in real_groups[name]]
                fakes = fake_groups[name]
                adv = self.gan_loss.generator([branch[-1] for branch in fakes]) / len(fakes)
                fm = feature_matching_loss(reals, fakes, self.weights.feature_matching_layer)
                loss = loss + weight * (adv + self.weights.feature_matching * fm)
                logs[f"train/g_adv_{name}"] = adv
                logs[f"train/g_feature_matching_{name}"] = fm
        logs["train/g_loss"] = loss
        return loss, logs
