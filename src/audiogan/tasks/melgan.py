"""MelGAN vocoder task: log-mel of real audio in, waveform out, multi-scale D, 1:1 updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.api import Audio, AudioModel
from audiogan.audio.config import AudioConfig
from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram, MelRebinning
from audiogan.export import ExportSpec, inference_copy
from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.metrics.vocoder import VocoderMetrics
from audiogan.models.fast_inference import FastMelGANGenerator
from audiogan.tasks.base import GANTask, Sample
from audiogan.utils.config import to_dict


class MelGANVocoder(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, frames * hop] with a trained vocoder's inference generator
    (MelGAN's fast copy, or what a subclass such as HiFi-GAN's task gives in ``inference_generator``).

    ``mel_audio``: the front-end the incoming mels were computed with (default: the vocoder's own). Another
    front-end's mels (voice conversion's dB mels over 20..8000 Hz) are rebinned into the vocoder's first.
    """

    def __init__(self, task: MelGANTask, mel_audio: AudioConfig | None = None):
        super().__init__()
        self.sample_rate = task.audio.sample_rate
        self.hop_length = task.audio.hop_length
        own = mel_audio is None or mel_audio == task.audio
        self.rebin = nn.Identity() if own else MelRebinning(mel_audio, task.audio)
        self.generator = task.inference_generator()

    @torch.inference_mode()
    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.generator(self.rebin(log_mel)).squeeze(1)


class MelGANResynthesis(nn.Module):
    """Waveform [T] -> waveform [T] through a MelGAN task's log-mel and its vocoder.

    What a family offers inference: ``sample_rate``, ``min_samples`` and this forward. The input is
    zero-padded to a whole number of hops (the generator makes frames * hop samples), the output
    trimmed back to the input's length.
    """

    def __init__(self, task: MelGANTask):
        super().__init__()
        self.sample_rate = task.audio.sample_rate
        self.hop_length = task.audio.hop_length
        self.min_samples = task.audio.n_fft  # shorter inputs cannot be reflect-padded for the STFT
        self.log_mel = task.log_mel
        self.vocoder = MelGANVocoder(task)

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        padded = F.pad(audio, (0, -audio.numel() % self.hop_length))
        return self.vocoder(self.log_mel(padded.unsqueeze(0))).reshape(-1)[: audio.numel()]


class Vocoder(AudioModel):
    """``audiogan.load`` of a MelGAN (or HiFi-GAN): ``vocoder.vocode(log_mel)`` (mel in, audio out) and
    ``vocoder(waveform, sample_rate)`` (resynthesis); ``vocoder.log_mel(waveform, sample_rate)`` gives the
    model's own features of any audio."""

    def __init__(self, task: MelGANTask):
        super().__init__(MelGANResynthesis(task), task.device)
        self.features = task.log_mel

    @torch.inference_mode()
    def vocode(self, log_mel: torch.Tensor) -> Audio:
        """Log-mel [n_mels, frames] or [B, n_mels, frames] (this model's features) -> audio [frames * hop]."""
        mel = torch.as_tensor(log_mel, dtype=torch.float32).to(self.device)
        audio = self.module.vocoder(mel.reshape(-1, *mel.shape[-2:]))
        return Audio(audio.reshape(*mel.shape[:-2], -1), self.sample_rate)

    @torch.inference_mode()
    def log_mel(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Waveform [T] or [B, T] at any rate -> log-mel [n_mels, frames] or [B, n_mels, frames]."""
        audio = self._at_model_rate(waveform, sample_rate)
        mel = self.features(audio.reshape(-1, audio.shape[-1]))
        return mel.reshape(*audio.shape[:-1], *mel.shape[-2:])


@dataclass(frozen=True)
class LossWeights:
    """Generator loss weights (``model.loss_weights``)."""

    feature_matching: float = 10.0
    feature_matching_layer: float = 1.0
    mel_l1: float = 0.0
    warmup_mel_l1: float = 1.0


class MelGANTask(GANTask):
    """Trains a mel-to-waveform generator against a multi-scale waveform discriminator.

    Generator loss = adversarial + ``loss_weights.feature_matching`` x feature matching (+ optional
    mel L1, 0 by default as in the original; warm-up batches use mel L1 alone). Validation
    resynthesises fixed held-out clips and reports log-mel L1 and MR-STFT distance next to the
    Griffin-Lim baseline on the same clips.
    """

    def __init__(self, loss_weights: Mapping[str, Any], **engine: Any):
        super().__init__(**engine)
        self.weights = LossWeights(**to_dict(loss_weights))
        self.log_mel = LogMelSpectrogram(self.audio)
        self.metrics = VocoderMetrics(self.log_mel)
        self._baseline: dict[int, dict[str, torch.Tensor]] = {}  # Griffin-Lim of each held-out clip, once

    # ----------------------------------------------------------------- engine interface
    def generate(self, batch):
        mel = self.log_mel(batch["audio"])
        return {"mel": mel, "fake": self.generator(mel)}

    def discriminator_loss(self, batch, generated):
        # one pass over real and generated together (D has no batch statistics): bigger convs run faster
        n = batch["audio"].shape[0]
        both = self.discriminator(torch.cat([batch["audio"].unsqueeze(1), generated["fake"].detach()]))
        real = [[f[:n] for f in scale] for scale in both]
        fake = [[f[n:] for f in scale] for scale in both]
        loss = self.adversarial.discriminator([s[-1] for s in real], [s[-1] for s in fake])
        d_real = torch.stack([s[-1].mean() for s in real]).mean()
        d_fake = torch.stack([s[-1].mean() for s in fake]).mean()
        # feature-matching targets, as the original: D's real activations from this pre-update pass
        real_features = [[f.detach() for f in s[:-1]] for s in real]
        logs = {"train/d_loss": loss, "train/d_real": d_real, "train/d_fake": d_fake}
        return loss, logs, {"real_features": real_features}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        fake_audio = generated["fake"]
        logs: dict[str, torch.Tensor] = {}
        loss = fake_audio.new_zeros((), dtype=torch.float32)
        mel_weight = self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1
        if mel_weight:
            mel_l1 = (self.log_mel(fake_audio) - generated["mel"]).abs().mean()
            loss = loss + mel_weight * mel_l1
            logs["train/g_mel_l1"] = mel_l1
        if adversarial:
            fake = self.discriminator(fake_audio)
            adv = self.adversarial.generator([s[-1] for s in fake])
            loss = loss + adv
            logs["train/g_adv"] = adv
            if self.weights.feature_matching:
                fm = feature_matching_loss(
                    from_discriminator["real_features"],
                    [s[:-1] for s in fake],
                    self.weights.feature_matching_layer,
                )
                loss = loss + self.weights.feature_matching * fm
                logs["train/g_feature_matching"] = fm
        logs["train/g_loss"] = loss
        return loss, logs

    # ----------------------------------------------------------------- validation and test
    def evaluate(self, batch, batch_idx):
        reference = batch["audio"]
        mel = self.log_mel(reference)
        generated = self.generator(mel).squeeze(1)
        reference = reference[..., : generated.shape[-1]]
        scores = self.metrics(generated, reference)
        # the Griffin-Lim baseline of a validation clip never changes: computed at the first validation only
        cache = {} if self.trainer.testing else self._baseline
        if batch_idx not in cache:
            griffin_lim = GriffinLimVocoder(self.audio).to(mel.device)(mel)
            cache[batch_idx] = {"audio": griffin_lim, "scores": self.metrics(griffin_lim, reference)}
        baseline = cache[batch_idx]
        scores.update({f"{name}_griffinlim": value for name, value in baseline["scores"].items()})
        sample = Sample(
            f"clip{batch_idx}",
            self.audio.sample_rate,
            audio={"generated": generated[0], "reference": reference[0], "griffinlim": baseline["audio"][0]},
            spectrograms={
                "reference": mel[0],
                "generated": self.log_mel(generated[:1])[0],
                "griffinlim": self.log_mel(baseline["audio"][:1])[0],
            },
            roles={"reference": "reference", "griffinlim": "baseline"},
        )
        return scores, sample

    # ----------------------------------------------------------------- what it offers the commands
    def inference_generator(self) -> nn.Module:
        """A no-grad snapshot of the generator for inference: log-mel [B, n_mels, frames] -> [B, 1, T]."""
        return FastMelGANGenerator(self.generator)

    def inference_module(self) -> MelGANResynthesis:
        """infer.py: log-mel of the input, then the fast generator."""
        return MelGANResynthesis(self)

    def mel_vocoder(self, mel_audio: AudioConfig | None = None) -> MelGANVocoder:
        return MelGANVocoder(self, mel_audio)

    def python_api(self) -> Vocoder:
        return Vocoder(self)

    def export_spec(self, frames: int = 32) -> ExportSpec:
        """The generator, log-mel [B, n_mels, frames] (this task's features) -> waveform [B, 1, frames * hop]
        in [-1, 1], for any batch size and length."""
        return ExportSpec(
            inference_copy(self.generator),
            torch.randn(1, self.generator.n_mels, frames, device=self.device),
            input_name="log_mel",
            output_name="audio",
            dynamic_axes={"log_mel": {0: "batch", 2: "frames"}, "audio": {0: "batch", 2: "samples"}},
        )
