"""Voice-conversion task: a source speaker's dB mel -> the target speaker's, trained by the engine at 1:2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram
from audiogan.audio.length import crop_or_pad
from audiogan.export import ExportSpec, inference_copy
from audiogan.metrics.conversion import mel_cepstral_distortion
from audiogan.models.global_stats import GlobalStats
from audiogan.samples import Sample
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, Resynthesizer
from audiogan.utils.config import to_dict


@dataclass(frozen=True)
class LossWeights:
    """Generator loss weights (``model.task.loss_weights``): L1 to the target x25, adversarial x1."""

    l1: float = 25.0
    adversarial: float = 1.0


class VoiceConverter(nn.Module):
    """Waveform [T] of the source speaker -> waveform [T] in the target's voice (what ``convert.py`` runs).

    dB log-mel -> source-normalised -> generator -> denormalised with the target statistics (clipped to the
    range seen in training) -> ``vocoder`` (dB mel [B, n_mels, frames] -> waveform [B, frames * hop]),
    trimmed / padded to the input length.
    """

    def __init__(self, task: VoiceConversionTask, vocoder: nn.Module):
        super().__init__()
        self.sample_rate = task.audio_config.sample_rate
        self.min_samples = task.audio_config.n_fft
        self.log_mel = task.log_mel
        self.stats = task.stats
        self.generator = task.generator
        self.vocoder = vocoder

    def convert_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Source dB mel [B, n_mels, frames] -> converted dB mel of the same shape."""
        return self.stats.denormalize_converted(self.generator(self.stats.source.normalize(mel)), clip=True)

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        wave = self.vocoder(self.convert_mel(self.log_mel(audio.reshape(1, -1)))).reshape(-1)
        return crop_or_pad(wave, audio.numel())


class VoiceConversionTask(GANTask, Resynthesizer, Exportable):
    """Trains an ImprovedGenerator on DTW-aligned parallel dB mels against an ImprovedDiscriminator.

    Batches hold ``source_mel`` / ``target_mel`` [B, n_mels, frames] in dB. ``GlobalStats`` follows each
    speaker's training batches (once per batch); the source is normalised with the source statistics, the
    target with the target's, so the generator maps one normalised space into the other. D sees the real
    target and the converted mel (the ``adversarial`` objective: BCE with a smoothed real label by default);
    G loss = ``adversarial`` x adversarial + ``l1`` x L1 to the aligned normalised target. Validation converts
    whole held-out pairs and logs ``val/l1`` (dB log-mel L1 to the aligned target, the plateau scheduler's
    monitor), ``val/mcd`` (converted vs target) and ``val/mcd_source`` (source vs target, the baseline),
    and audio by Griffin-Lim. ``epochs``: the budget when ``schedule.max_batches`` is null.
    """

    inference_options = ("griffin_lim_iters", "vocoder")

    def __init__(
        self,
        loss_weights: Mapping[str, Any] | None = None,
        stats: Mapping[str, Any] | None = None,
        epochs: int | None = None,
        griffin_lim_iters: int | None = None,
        mcd_coeffs: int = 35,
        **engine: Any,
    ):
        super().__init__(**engine)
        if self.audio_config is None or self.audio_config.log != "db":
            raise ValueError(
                "VoiceConversionTask needs dB log-mels: set audio.log=db (conf/audio/voice_conversion)"
            )
        if epochs is not None and epochs < 1:
            raise ValueError(f"model.task.epochs must be >= 1 or null, got {epochs}")
        self.weights = LossWeights(**to_dict(loss_weights))
        self.stats = GlobalStats(**to_dict(stats))
        self.log_mel = LogMelSpectrogram(self.audio_config)
        default_iters = self.audio_config.griffin_lim_iters
        self.griffin_lim_iters = default_iters if griffin_lim_iters is None else griffin_lim_iters
        self.epochs = epochs
        self.mcd_coeffs = mcd_coeffs

    # ----------------------------------------------------------------- budget
    def on_train_start(self) -> None:
        """Epochs as batches: ``epochs`` x the train loader's batches per epoch (when max_batches is null)."""
        if self.schedule.max_batches is None and self.epochs is not None:
            per_epoch = int(self.trainer.num_training_batches)
            self.schedule.max_batches = self.epochs * per_epoch
            if self.counters.batches >= self.schedule.max_batches:
                self.trainer.should_stop = True

    # ----------------------------------------------------------------- engine interface
    def training_step(self, batch, batch_idx):
        # statistics follow the data once per batch, before any update of this batch uses them
        self.stats.update_from_batch(batch["source_mel"], batch["target_mel"])
        return super().training_step(batch, batch_idx)

    def generate(self, batch):
        source = self.stats.source.normalize(batch["source_mel"])
        target = self.stats.target.normalize(batch["target_mel"])
        return {"fake": self.generator(source), "real": target}

    def discriminator_loss(self, batch, generated):
        real = self.discriminator(generated["real"])
        fake = self.discriminator(generated["fake"].detach())
        loss = self.gan_loss.discriminator([real], [fake])
        logs = {"train/d_loss": loss, "train/d_real": real.mean(), "train/d_fake": fake.mean()}
        return loss, {name: value.detach() for name, value in logs.items()}, {}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        l1 = (generated["fake"] - generated["real"]).abs().mean()
        loss = self.weights.l1 * l1
        logs = {"train/g_l1": l1}
        if adversarial:
            adv = self.gan_loss.generator([self.discriminator(generated["fake"])])
            loss = loss + self.weights.adversarial * adv
            logs["train/g_adv"] = adv
        logs["train/g_loss"] = loss
        return loss, {name: value.detach() for name, value in logs.items()}

    # ----------------------------------------------------------------- validation and test
    def evaluate(self, batch, batch_idx):
        source, target = batch["source_mel"], batch["target_mel"]
        converter = self.inference_module().to(self.device)
        converted = converter.convert_mel(source)
        scores = {
            "l1": (converted - target).abs().mean(),
            "mcd": mel_cepstral_distortion(converted[0], target[0], self.mcd_coeffs).float(),
            "mcd_source": mel_cepstral_distortion(source[0], target[0], self.mcd_coeffs).float(),
        }
        # reference, output, baseline: the order of the rows of the sample's picture
        mels = {"target": target[0], "converted": converted[0], "source": source[0]}
        audio = {label: converter.vocoder(mel[None])[0] for label, mel in mels.items()}
        roles = {"target": "reference", "source": "input"}
        return scores, Sample(f"pair{batch_idx}", self.audio_config.sample_rate, audio, mels, roles=roles)

    # ----------------------------------------------------------------- what it offers the commands
    def inference_module(
        self, griffin_lim_iters: int | None = None, vocoder: nn.Module | None = None
    ) -> VoiceConverter:
        """convert.py: waveform -> converted waveform, by Griffin-Lim (``griffin_lim_iters``, default the
        task's) unless a ``vocoder`` is given: a module from this task's dB mels to audio (another family's
        ``mel_vocoder(task.audio_config)``)."""
        if vocoder is None:
            n_iter = griffin_lim_iters if griffin_lim_iters is not None else self.griffin_lim_iters
            vocoder = GriffinLimVocoder(self.audio_config, n_iter=n_iter)
        return VoiceConverter(self, vocoder)

    def export_spec(self) -> ExportSpec:
        """The generator, source mel [B, n_mels, frames] normalised with ``stats.source`` -> converted mel
        [B, n_mels, frames] in the target's normalised space (undo with ``stats.denormalize_converted``).

        The generator pads a length that is not a multiple of its stride, and tracing keeps the branch the
        example takes, so the example is one frame past a multiple: the pad (0 frames where none is needed)
        then serves every length."""
        frames = 4 * self.generator.total_stride + 1
        return ExportSpec(
            inference_copy(self.generator),
            torch.randn(1, self.audio_config.n_mels, frames, device=self.device),
            input_name="mel",
            output_name="converted_mel",
            dynamic_axes={"mel": {0: "batch", 2: "frames"}, "converted_mel": {0: "batch", 2: "frames"}},
        )
