"""Voice-conversion task: a source speaker's dB mel -> the target speaker's, trained by the engine at 1:2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram
from audiogan.export import ExportSpec, inference_copy
from audiogan.metrics.conversion import mel_cepstral_distortion
from audiogan.models.global_stats import GlobalStats
from audiogan.tasks.base import GANTask
from audiogan.utils.config import to_dict


@dataclass(frozen=True)
class LossWeights:
    """Generator loss weights (``model.task.loss_weights``): L1 to the target x25, adversarial x1."""

    l1: float = 25.0
    adversarial: float = 1.0


class VoiceConverter(nn.Module):
    """Waveform [T] of the source speaker -> waveform [T] in the target's voice (what ``convert.py`` runs).

    dB log-mel -> source-normalised -> generator -> denormalised with the target statistics (clipped to the
    range seen in training) -> ``vocoder`` (dB mel [B, n_mels, frames] -> waveform [B, frames * hop]; by
    default Griffin-Lim with ``n_iter`` iterations), trimmed / padded to the input length.
    """

    def __init__(
        self, task: VoiceConversionTask, n_iter: int | None = None, vocoder: nn.Module | None = None
    ):
        super().__init__()
        self.sample_rate = task.audio.sample_rate
        self.min_samples = task.audio.n_fft
        self.log_mel = task.log_mel
        self.stats = task.stats
        self.generator = task.generator
        if vocoder is None:
            vocoder = GriffinLimVocoder(task.audio, n_iter=n_iter if n_iter is not None else task.n_iter)
        self.vocoder = vocoder

    def convert_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Source dB mel [B, n_mels, frames] -> converted dB mel of the same shape."""
        return self.stats.denormalize_converted(self.generator(self.stats.source.normalize(mel)), clip=True)

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        wave = self.vocoder(self.convert_mel(self.log_mel(audio.reshape(1, -1)))).reshape(-1)
        return F.pad(wave, (0, max(0, audio.numel() - wave.numel())))[: audio.numel()]


class VoiceConversionTask(GANTask):
    """Trains an ImprovedGenerator on DTW-aligned parallel dB mels against an ImprovedDiscriminator.

    Batches hold ``source_mel`` / ``target_mel`` [B, n_mels, frames] in dB. ``GlobalStats`` follows each
    speaker's training batches (once per batch); the source is normalised with the source statistics, the
    target with the target's, so the generator maps one normalised space into the other. D sees the real
    target and the converted mel (BCE on logits, real label 1 - ``label_smoothing``); G loss =
    ``adversarial`` x adversarial + ``l1`` x L1 to the aligned normalised target. Validation converts whole
    held-out pairs and logs ``val/l1`` (dB log-mel L1 to the aligned target, the plateau scheduler's
    monitor), ``val/mcd`` (converted vs target) and ``val/mcd_source`` (source vs target, the baseline),
    and audio by Griffin-Lim. ``epochs``: the budget when ``schedule.max_batches`` is null.
    """

    def __init__(
        self,
        audio: Mapping[str, Any],
        generator: Mapping[str, Any],
        discriminator: Mapping[str, Any],
        adversarial: Mapping[str, Any],
        loss_weights: Mapping[str, Any] | None = None,
        label_smoothing: float = 0.1,
        stats: Mapping[str, Any] | None = None,
        epochs: int | None = None,
        schedule: Mapping[str, Any] | None = None,
        optim: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        samples_to_log: int = 4,
        griffin_lim_iters: int | None = None,
        mcd_coeffs: int = 35,
    ):
        adversarial = to_dict(adversarial)
        if "label_smoothing" in adversarial:
            adversarial["label_smoothing"] = label_smoothing
        super().__init__(generator, discriminator, adversarial, audio, schedule, optim, scheduler)
        self.save_hyperparameters()
        if self.audio is None or self.audio.log != "db":
            raise ValueError(
                "VoiceConversionTask needs dB log-mels: set audio.log=db (conf/audio/voice_conversion)"
            )
        if epochs is not None and epochs < 1:
            raise ValueError(f"model.task.epochs must be >= 1 or null, got {epochs}")
        self.weights = LossWeights(**to_dict(loss_weights))
        self.stats = GlobalStats(**to_dict(stats))
        self.log_mel = LogMelSpectrogram(self.audio)
        self.n_iter = griffin_lim_iters if griffin_lim_iters is not None else self.audio.griffin_lim_iters
        self.epochs = epochs
        self.mcd_coeffs = mcd_coeffs
        self.samples_to_log = samples_to_log
        self.validation_samples: list[dict[str, Any]] = []

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

    def discriminator_loss(self, batch, outputs):
        real = self.discriminator(outputs["real"])
        fake = self.discriminator(outputs["fake"].detach())
        loss = self.adversarial.discriminator([real], [fake])
        logs = {"train/d_loss": loss, "train/d_real": real.mean(), "train/d_fake": fake.mean()}
        return loss, {name: value.detach() for name, value in logs.items()}

    def generator_loss(self, batch, outputs, adversarial):
        l1 = (outputs["fake"] - outputs["real"]).abs().mean()
        loss = self.weights.l1 * l1
        logs = {"train/g_l1": l1}
        if adversarial:
            adv = self.adversarial.generator([self.discriminator(outputs["fake"])])
            loss = loss + self.weights.adversarial * adv
            logs["train/g_adv"] = adv
        logs["train/g_loss"] = loss
        return loss, {name: value.detach() for name, value in logs.items()}

    # ----------------------------------------------------------------- validation and test
    def inference_module(self, n_iter: int | None = None, vocoder: nn.Module | None = None) -> VoiceConverter:
        """What ``convert.py`` runs: waveform -> converted waveform, by Griffin-Lim unless a ``vocoder`` is
        given: a module from this task's dB mels to audio (a MelGANVocoder with ``mel_audio=self.audio``)."""
        return VoiceConverter(self, n_iter, vocoder)

    def export_spec(self) -> ExportSpec:
        """What ``infer.py export=...`` writes: the generator, source mel [B, n_mels, frames] normalised with
        ``stats.source`` -> converted mel [B, n_mels, frames] in the target's normalised space (undo with
        ``stats.denormalize_converted``), for any batch size and length.

        The generator pads a length that is not a multiple of its stride, and tracing keeps the branch the
        example takes, so the example is one frame past a multiple: the pad (0 frames where none is needed)
        then serves every length."""
        frames = 4 * self.generator.total_stride + 1
        return ExportSpec(
            inference_copy(self.generator),
            torch.randn(1, self.audio.n_mels, frames, device=self.device),
            input_name="mel",
            output_name="converted_mel",
            dynamic_axes={"mel": {0: "batch", 2: "frames"}, "converted_mel": {0: "batch", 2: "frames"}},
        )

    def on_validation_epoch_start(self) -> None:
        self.validation_samples = []

    def _evaluate(self, batch, batch_idx: int, prefix: str) -> None:
        source, target = batch["source_mel"], batch["target_mel"]
        converter = VoiceConverter(self, self.n_iter).to(self.device)
        converted = converter.convert_mel(source)
        scores = {
            "l1": (converted - target).abs().mean(),
            "mcd": mel_cepstral_distortion(converted[0], target[0], self.mcd_coeffs).float(),
            "mcd_source": mel_cepstral_distortion(source[0], target[0], self.mcd_coeffs).float(),
        }
        logged = {f"{prefix}/{name}": value for name, value in scores.items()}
        self.log_dict(logged, on_step=False, on_epoch=True, batch_size=1, sync_dist=True)
        if prefix == "val" and len(self.validation_samples) < self.samples_to_log:
            mels = {"converted": converted[0], "target": target[0], "source": source[0]}
            self.validation_samples.append(
                {
                    "name": f"pair{batch_idx}",
                    "sample_rate": self.audio.sample_rate,
                    "audio": {label: converter.vocoder(mel[None])[0] for label, mel in mels.items()},
                    "mel": mels,
                }
            )

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, batch_idx, "test")
