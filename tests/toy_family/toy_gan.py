"""A toy family built from this file and ``tests/toy_family/conf/`` only, to show that a new family needs no
edit elsewhere: the generic tests (configs, DDP, bf16, compile, export, infer, eval, sweeps) pick it up
from the config search path. It learns the identity on waveforms: [B, T] audio -> G -> [B, T] audio."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.export import ExportSpec, inference_copy
from audiogan.samples import Sample
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, Resynthesizer


class ToyGenerator(nn.Module):
    """[B, 1, T] -> [B, 1, T]: two convolutions with a tanh output."""

    def __init__(self, channels: int = 8, kernel_size: int = 9):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(channels, 1, kernel_size, padding=kernel_size // 2),
            nn.Tanh(),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.layers(audio)


class ToyDiscriminator(nn.Module):
    """[B, 1, T] -> logits [B, 1, T / 4]."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(1, channels, 15, stride=4, padding=7),
            nn.LeakyReLU(0.2),
            nn.Conv1d(channels, 1, 3, padding=1),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.layers(audio)


class ToyIdentity(nn.Module):
    """infer.py's module: waveform [T] -> waveform [T]."""

    def __init__(self, generator: nn.Module, sample_rate: int):
        super().__init__()
        self.generator, self.sample_rate, self.min_samples = generator, sample_rate, 1

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.generator(audio.reshape(1, 1, -1)).reshape(-1)


class ToyTask(GANTask, Resynthesizer, Exportable):
    """Adversarial objective + L1 to the input; validation scores the L1 next to silence's."""

    def generate(self, batch):
        return {"fake": self.generator(batch["audio"].unsqueeze(1))}

    def discriminator_loss(self, batch, generated):
        real, fake = (
            self.discriminator(batch["audio"].unsqueeze(1)),
            self.discriminator(generated["fake"].detach()),
        )
        loss = self.gan_loss.discriminator([real], [fake])
        return loss, {"train/d_loss": loss}, {}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        loss = F.l1_loss(generated["fake"].squeeze(1), batch["audio"])
        if adversarial:
            loss = loss + self.gan_loss.generator([self.discriminator(generated["fake"])])
        return loss, {"train/g_loss": loss}

    def evaluate(self, batch, batch_idx):
        audio = batch["audio"]
        output = self.generator(audio.unsqueeze(1)).squeeze(1)
        scores = {"l1": F.l1_loss(output, audio), "l1_silence": audio.abs().mean()}
        return scores, Sample(f"clip{batch_idx}", self.audio_config.sample_rate, audio={"output": output[0]})

    def inference_module(self) -> nn.Module:
        return ToyIdentity(self.generator, self.audio_config.sample_rate)

    def export_spec(self) -> ExportSpec:
        return ExportSpec(
            inference_copy(self.generator),
            torch.randn(1, 1, 1000, device=self.device),
            input_name="audio",
            output_name="output",
            dynamic_axes={"audio": {0: "batch", 2: "samples"}, "output": {0: "batch", 2: "samples"}},
        )
