"""A toy vocoder on the vocoder base, built from this file and its configs under ``tests/toy_family/conf/``
only, to show that a new mel-to-waveform family needs no edit elsewhere: the generic tests (bf16, compile,
DDP, sweep, export, infer, eval, ``audiogan.load``, report) pick it up from the config search path. Its
front-end is unlike MelGAN's and HiFi-GAN's (16 kHz, centred frames, HTK mel, natural log clamped at 1e-7),
and it ships its own release layout: one ``toy_vocoder*.pt`` file holding the generator and its sizes."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.tasks.release import Release, ReleaseLayout
from audiogan.tasks.vocoder import VocoderTask


class ToyVocoderGenerator(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, 1, (frames - 1) * hop] (centred frames: the first and the
    last frame each reach half a hop past the audio)."""

    def __init__(self, n_mels: int, hop_length: int, channels: int = 8):
        super().__init__()
        self.hop_length = hop_length
        self.pre = nn.Conv1d(n_mels, channels, 3, padding=1)
        self.upsample = nn.ConvTranspose1d(channels, 1, 2 * hop_length, hop_length, padding=hop_length // 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        audio = torch.tanh(self.upsample(F.leaky_relu(self.pre(mel), 0.2)))  # frames * hop samples
        return audio[..., : audio.shape[-1] - self.hop_length]


class ToyVocoderDiscriminator(nn.Module):
    """[B, 1, T] -> two branches (the waveform and its 2x average-pooled copy), each [feature map, logits]."""

    def __init__(self, channels: int = 4):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.ModuleList([nn.Conv1d(1, channels, 15, 4, 7), nn.Conv1d(channels, 1, 3, padding=1)])
            for _ in "ab"
        )

    def forward(self, audio: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for i, (conv, logits) in enumerate(self.branches):
            x = F.avg_pool1d(audio, 2) if i else audio
            features = F.leaky_relu(conv(x), 0.2)
            outputs.append([features, logits(features)])
        return outputs


class ToyVocoderRelease(ReleaseLayout):
    """``toy_vocoder*.pt``: {"generator": its weights, "sizes": {"channels": C}}."""

    name = "toy vocoder"
    files = "toy_vocoder*.pt"

    def recognises(self, path: Path) -> bool:
        return path.is_file() and path.match(self.files)

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        release = torch.load(path, map_location="cpu", weights_only=True)
        weights = {f"generator.{name}": value for name, value in release["generator"].items()}
        channels = release["sizes"]["channels"]
        return Release(
            "toy_vocoder", [f"model.task.generator.channels={channels}"], weights, ["no discriminator"]
        )

    def write(self, task: ToyVocoderTask, folder: Path) -> list[Path]:
        path = folder / "toy_vocoder.pt"
        folder.mkdir(parents=True, exist_ok=True)
        sizes = {"channels": task.generator.pre.out_channels}
        torch.save({"generator": task.generator.state_dict(), "sizes": sizes}, path)
        return [path]


class ToyVocoderTask(VocoderTask):
    """Generator loss = mel L1 x ``loss_weights.mel_l1`` + adversarial + feature matching."""

    release_layouts = (ToyVocoderRelease,)

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        fake_mel, real_mel = self.mel_loss_pair(batch, generated)
        mel_l1 = (fake_mel - real_mel).abs().mean()
        loss = (self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1) * mel_l1
        if adversarial:
            fake = self.discriminator(generated["fake"])
            fm = feature_matching_loss(from_discriminator["real_features"], [branch[:-1] for branch in fake])
            loss = loss + self.gan_loss.generator([branch[-1] for branch in fake])
            loss = loss + self.weights.feature_matching * fm
        return loss, {"train/g_mel_l1": mel_l1, "train/g_loss": loss}
