"""The base of every mel-to-waveform family (MelGAN, HiFi-GAN, ...): what a vocoder is besides its networks
and its generator loss.

* its front-end: the input log-mel of ``audio_config`` (framing, filterbank and log from the family's
  ``audio=`` config) and the mel of its loss (``audio_config.loss_mel``, where the recipe has one);
* the update's data flow: mel of real audio -> generator -> fake audio, and a discriminator objective over
  one joint pass of real and fake through a multi-branch D (each branch: feature maps, then logits);
* validation: mel L1, MR-STFT distance and harmonic correlation of held-out clips next to the Griffin-Lim
  baseline, on the family's own front-end and on the shared evaluation front-end (``evaluation_audio``,
  conf/evaluation/), so vocoders of different front-ends compare on one scale; samples with their roles;
* every role a vocoder offers the commands: resynthesis (infer.py), a mel vocoder (``vocoder_ckpt=``),
  export, and ``audiogan.load``'s :class:`VocoderModel`, on the fast inference path and, for long inputs,
  in chunks (``long_inputs``).

A family adds its generator objective (``generator_loss``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram
from audiogan.export import ExportSpec, inference_copy
from audiogan.inference.fast_path import fast_copy, fast_inference_copy
from audiogan.inference.long_inputs import ChunkedVocoder
from audiogan.inference.vocoder import MelResynthesis, MelVocoder, VocoderModel
from audiogan.metrics.vocoder import VocoderMetrics
from audiogan.models.layers import joint_pass
from audiogan.samples import Sample
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, MelVocoding, PythonAPI, Resynthesizer
from audiogan.utils.config import to_dict

# the prefix of the scores measured on the shared evaluation front-end
SHARED = "shared_"


@dataclass(frozen=True)
class LossWeights:
    """Generator loss weights (``model.task.loss_weights``): feature matching and its per-layer factor, mel L1
    in the adversarial stage and in the generator-only warm-up."""

    feature_matching: float = 10.0
    feature_matching_layer: float = 1.0
    mel_l1: float = 0.0
    warmup_mel_l1: float = 1.0


@dataclass(frozen=True)
class LongInputs:
    """How inference vocodes a long log-mel (``model.task.long_inputs``): ``chunk_seconds`` of audio at a
    time, each chunk generated with ``context_frames`` more mel frames on both sides. With ``context_frames``
    at least the generator's reach the audio equals one pass (:class:`ChunkedVocoder`)."""

    chunk_seconds: float
    context_frames: int


class VocoderTask(GANTask, Resynthesizer, MelVocoding, Exportable, PythonAPI):
    """A log-mel -> waveform generator trained against a multi-branch waveform discriminator.

    ``evaluation_audio``: the shared evaluation front-end (None: scores on the family's own front-end only).
    ``long_inputs``: :class:`LongInputs` (None: every input in one pass).
    """

    def __init__(
        self,
        loss_weights: Mapping[str, Any],
        evaluation_audio: Mapping[str, Any] | None = None,
        long_inputs: Mapping[str, Any] | None = None,
        **engine: Any,
    ):
        super().__init__(**engine)
        self.weights = LossWeights(**to_dict(loss_weights))
        self.long_inputs = LongInputs(**to_dict(long_inputs)) if long_inputs else None
        self.log_mel = LogMelSpectrogram(self.audio_config)
        own_loss_mel = self.audio_config.loss_mel is None
        self.loss_mel = (
            self.log_mel if own_loss_mel else LogMelSpectrogram(self.audio_config.loss_front_end())
        )
        self.metrics = VocoderMetrics(self.log_mel)
        self.shared_metrics = None
        if evaluation_audio:
            shared = AudioConfig.from_config(to_dict(evaluation_audio))
            self.shared_metrics = VocoderMetrics(LogMelSpectrogram(shared), self.audio_config.sample_rate)
        self._baseline: dict[int, dict[str, Any]] = {}  # Griffin-Lim of each held-out clip, once

    # ----------------------------------------------------------------- engine interface
    def generate(self, batch):
        """The generator on the batch's mel: the one given (predicted by a TTS model, see
        ``predicted_mels`` in :class:`audiogan.data.datasets.WaveformSegments`), else the audio's."""
        mel = batch["mel"] if "mel" in batch else self.log_mel(batch["audio"])
        return {"mel": mel, "fake": self.generator(mel)}

    def discriminator_loss(self, batch, generated):
        real, fake = joint_pass(self.discriminator, batch["audio"].unsqueeze(1), generated["fake"].detach())
        loss = self.gan_loss.discriminator([branch[-1] for branch in real], [branch[-1] for branch in fake])
        d_real = torch.stack([branch[-1].mean() for branch in real]).mean()
        d_fake = torch.stack([branch[-1].mean() for branch in fake]).mean()
        # feature-matching targets for families that take them from this pre-update pass (MelGAN)
        real_features = [[f.detach() for f in branch[:-1]] for branch in real]
        logs = {"train/d_loss": loss, "train/d_real": d_real, "train/d_fake": d_fake}
        return loss, logs, {"real_features": real_features}

    def mel_loss_pair(self, batch, generated) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-mel of the fake audio, of the real audio) on the loss front-end; the input mel is reused where
        the loss front-end is the input's and the mel was the audio's (not a predicted one)."""
        fake = self.loss_mel(generated["fake"])
        reuse = self.loss_mel is self.log_mel and "mel" not in batch
        real = generated["mel"] if reuse else self.loss_mel(batch["audio"])
        return fake, real

    def weighted_mel_l1(self, batch, generated, adversarial: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(the generator's mel term, the mel L1 itself): L1 between the log-mels of generated and real
        audio on the loss front-end, weighed by ``loss_weights.mel_l1`` (``warmup_mel_l1`` before the GAN
        starts)."""
        fake_mel, real_mel = self.mel_loss_pair(batch, generated)
        mel_l1 = F.l1_loss(fake_mel, real_mel)
        return (self.weights.mel_l1 if adversarial else self.weights.warmup_mel_l1) * mel_l1, mel_l1

    # ----------------------------------------------------------------- validation and test
    def evaluate(self, batch, batch_idx):
        reference = batch["audio"]
        mel = self.log_mel(reference)
        generated = self.generator(mel).squeeze(1)
        reference = reference[..., : generated.shape[-1]]
        baseline = self._griffin_lim(batch_idx, mel, reference)
        scores = self._scores(generated, reference)
        scores.update({f"{name}_griffinlim": value for name, value in baseline["scores"].items()})
        sample = Sample(
            f"clip{batch_idx}",
            self.audio_config.sample_rate,
            audio={"generated": generated[0], "reference": reference[0], "griffinlim": baseline["audio"][0]},
            spectrograms={
                "reference": mel[0],
                "generated": self.log_mel(generated[:1])[0],
                "griffinlim": self.log_mel(baseline["audio"][:1])[0],
            },
            roles={"reference": "reference", "griffinlim": "baseline"},
        )
        return scores, sample

    def _scores(self, generated: torch.Tensor, reference: torch.Tensor) -> dict[str, torch.Tensor]:
        scores = self.metrics(generated, reference)
        if self.shared_metrics is not None:
            scores.update(
                {SHARED + name: value for name, value in self.shared_metrics(generated, reference).items()}
            )
        return scores

    def _griffin_lim(self, batch_idx: int, mel: torch.Tensor, reference: torch.Tensor) -> dict[str, Any]:
        """The Griffin-Lim baseline of a held-out clip and its scores; a validation clip never changes, so it
        is computed at the first validation only (a test run computes its own)."""
        cache = {} if self.trainer.testing else self._baseline
        if batch_idx not in cache:
            audio = GriffinLimVocoder(self.audio_config).to(mel.device)(mel)[..., : reference.shape[-1]]
            cache[batch_idx] = {"audio": audio, "scores": self._scores(audio, reference)}
        return cache[batch_idx]

    # ----------------------------------------------------------------- what it offers the commands
    def inference_generator(self) -> nn.Module:
        """A no-grad snapshot of the generator for inference: log-mel [B, n_mels, frames] -> [B, 1, samples],
        on the fast inference path where it gives the same output (:mod:`audiogan.inference.fast_path`),
        else the eval-mode copy with weight norm baked in; long inputs in chunks (``long_inputs``)."""
        generator = fast_inference_copy(self.generator, self.audio_config.n_mels)
        if self.long_inputs is None:
            return generator
        audio = self.audio_config
        chunk_frames = max(1, round(self.long_inputs.chunk_seconds * audio.sample_rate / audio.hop_length))
        return ChunkedVocoder(generator, audio.hop_length, chunk_frames, self.long_inputs.context_frames)

    def mel_vocoder(self, mel_config: AudioConfig | None = None) -> MelVocoder:
        return MelVocoder(self.inference_generator(), self.audio_config, mel_config)

    def inference_module(self) -> MelResynthesis:
        """infer.py: the input's log-mel, then the inference generator."""
        return MelResynthesis(self.log_mel, self.mel_vocoder())

    def python_api(self) -> VocoderModel:
        return VocoderModel(self.inference_module(), self.device)

    def export_generator(self) -> nn.Module:
        """The generator as export traces it: the inference copy; a family whose generator uses operations the
        exporters lack gives an equivalent built from others."""
        return inference_copy(self.generator)

    def export_spec(self, frames: int = 32) -> ExportSpec:
        """The generator, log-mel [B, n_mels, frames] (this task's features) -> waveform [B, 1, samples] in
        [-1, 1], for any batch size and length; TorchScript on the fast inference path where it applies."""
        return ExportSpec(
            self.export_generator(),
            torch.randn(1, self.audio_config.n_mels, frames, device=self.device),
            input_name="log_mel",
            output_name="audio",
            dynamic_axes={"log_mel": {0: "batch", 2: "frames"}, "audio": {0: "batch", 2: "samples"}},
            torchscript_module=fast_copy(self.generator, self.audio_config.n_mels),
        )
