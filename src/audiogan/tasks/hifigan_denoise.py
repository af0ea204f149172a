"""HiFi-GAN denoising task (Su, Jin & Finkelstein 2020): noisy waveform in, clean waveform out.

Three stages run by one command (``model.task.schedule.stages``): the WaveNet alone, then WaveNet +
postnet, both on L1 + multi-resolution log-spectrogram losses; then adversarial training against
freshly initialised waveform (16/8/4 kHz) and mel-spectrogram discriminators, D:G 2:1, with deep
feature matching. Each stage's ``options`` say whether the postnet runs and which parts train.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torchmetrics import MeanMetric

from audiogan.audio.features import LogMelSpectrogram
from audiogan.audio.overlap_add import process_in_chunks
from audiogan.export import ExportSpec, FinalOutput, inference_copy
from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.losses.spectral import LogSpectrogramLoss
from audiogan.metrics.enhancement import NAMES, EnhancementMetrics
from audiogan.tasks.base import GANTask, Stage
from audiogan.utils.config import to_dict

GENERATOR_PARTS = ("wavenet", "postnet")
EPOCH_SCORES = (*NAMES, "l1", "spectrogram")


@dataclass(frozen=True)
class LossWeights:
    """Generator loss weights (``model.task.loss_weights``); unverified in the paper's sources, 1 each."""

    sample_l1: float = 1.0
    spectrogram: float = 1.0
    adversarial: float = 1.0
    feature_matching: float = 1.0


class Denoiser(nn.Module):
    """Waveform [T] -> denoised waveform [T] at ``sample_rate``, in chunks so any length fits in memory.

    Each chunk sees as much real context on both sides as the generator reaches (``reach``: half the
    WaveNet's field plus the postnet's longer side), so the result equals one whole-file pass up to float
    rounding. This is the inference path of ``infer.py`` and of validation.
    """

    def __init__(self, generator: nn.Module, sample_rate: int, chunk_seconds: float):
        super().__init__()
        self.generator = generator
        self.sample_rate = sample_rate
        self.min_samples = 1
        self.chunk_samples = max(1, int(chunk_seconds * sample_rate))
        self.context = generator.reach

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return process_in_chunks(
            lambda chunk: self.generator(chunk)[1], audio, self.chunk_samples, self.context
        ).reshape(-1)


class HiFiGANDenoiseTask(GANTask):
    """Trains a WaveNet + postnet denoiser in the paper's three stages against four discriminators.

    Generator loss = ``sample_l1`` x L1(samples) + ``spectrogram`` x log-spectrogram L1 (at
    ``spectrogram_resolutions``), plus in adversarial stages ``adversarial`` x the objective summed over
    the 4 discriminators and ``feature_matching`` x L1 between their activations for the clean target
    and the output (every layer of every discriminator). Validation denoises fixed mixtures and reports
    PESQ (wb), STOI and SI-SDR of the output next to those of the noisy input.
    """

    def __init__(
        self,
        audio: Mapping[str, Any],
        generator: Mapping[str, Any],
        discriminator: Mapping[str, Any],
        adversarial: Mapping[str, Any],
        loss_weights: Mapping[str, Any],
        spectrogram_resolutions: Sequence[Sequence[int]] = ((2048, 512), (512, 128)),
        schedule: Mapping[str, Any] | None = None,
        optim: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        samples_to_log: int = 4,
        chunk_seconds: float = 4.0,
    ):
        super().__init__(generator, discriminator, adversarial, audio, schedule, optim, scheduler)
        self.save_hyperparameters()
        self.weights = LossWeights(**to_dict(loss_weights))
        self.spectrogram_loss = LogSpectrogramLoss(spectrogram_resolutions)
        self.log_mel = LogMelSpectrogram(self.audio)
        self.metrics = EnhancementMetrics(self.audio.sample_rate)
        # clip means over an epoch that skip a clip's NaN (a score PESQ or STOI refused), synced across ranks
        self.epoch_means = nn.ModuleDict(
            {
                prefix: nn.ModuleDict({name: MeanMetric(nan_strategy="ignore") for name in EPOCH_SCORES})
                for prefix in ("val", "test")
            }
        )
        self.chunk_seconds = chunk_seconds
        self.samples_to_log = samples_to_log
        self.validation_samples: list[dict[str, Any]] = []
        for stage in self.schedule.phases:
            self._check_options(stage)
        self._set_structure(self.stage_of(self.schedule.first_batch)[0])

    # ----------------------------------------------------------------- stages
    @staticmethod
    def _check_options(stage: Stage) -> None:
        unknown = set(stage.options) - {"use_postnet", "train"}
        parts = set(stage.options.get("train", GENERATOR_PARTS))
        if unknown or not parts or not parts <= set(GENERATOR_PARTS):
            raise ValueError(
                f"schedule stage {stage.name!r}: options take use_postnet (bool) and train (a non-empty "
                f"subset of {list(GENERATOR_PARTS)}); got {stage.options}"
            )

    def _set_structure(self, stage: Stage) -> None:
        self.generator.use_postnet = bool(stage.options.get("use_postnet", True))

    def on_stage_start(self, stage: Stage) -> None:
        """Switch the postnet on or off and freeze the parts of the generator this stage does not train.

        Freezing happens here, in training, never at construction: DDP registers the parameters that
        require gradients when it wraps the model, and a part frozen then would never be synchronised.
        """
        self._set_structure(stage)
        trained = set(stage.options.get("train", GENERATOR_PARTS))
        for part in GENERATOR_PARTS:
            getattr(self.generator, part).requires_grad_(part in trained)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Rebuild the structure of the stage the checkpoint's last batch trained in (e.g. no postnet yet)."""
        super().on_load_checkpoint(checkpoint)
        self._set_structure(self.stage_of(max(self.counters.batches - 1, 0))[0])

    # ----------------------------------------------------------------- engine interface
    def generate(self, batch):
        wavenet, enhanced = self.generator(batch["noisy"].unsqueeze(1))
        return {"wavenet": wavenet, "enhanced": enhanced}

    def discriminator_loss(self, batch, outputs):
        real = self.discriminator(batch["clean"].unsqueeze(1))
        fake = self.discriminator(outputs["enhanced"].detach())
        # feature-matching targets: the clean speech's activations from this pre-update pass
        outputs["real_features"] = [[f.detach() for f in d[:-1]] for d in real]
        loss = self.adversarial.discriminator([d[-1] for d in real], [d[-1] for d in fake])
        d_real = torch.stack([d[-1].float().mean() for d in real]).mean()
        d_fake = torch.stack([d[-1].float().mean() for d in fake]).mean()
        return loss, {"train/d_loss": loss, "train/d_real": d_real, "train/d_fake": d_fake}

    def generator_loss(self, batch, outputs, adversarial):
        enhanced, clean = outputs["enhanced"].squeeze(1), batch["clean"]
        sample_l1 = (enhanced.float() - clean).abs().mean()
        spectrogram = self.spectrogram_loss(enhanced, clean)
        loss = self.weights.sample_l1 * sample_l1 + self.weights.spectrogram * spectrogram
        logs = {"train/g_sample_l1": sample_l1, "train/g_spectrogram": spectrogram}
        if adversarial:
            fake = self.discriminator(outputs["enhanced"])
            adv = self.adversarial.generator([d[-1] for d in fake])
            fm = feature_matching_loss(outputs["real_features"], [d[:-1] for d in fake])
            loss = loss + self.weights.adversarial * adv + self.weights.feature_matching * fm
            logs.update({"train/g_adv": adv, "train/g_feature_matching": fm})
        logs["train/g_loss"] = loss
        return loss, {name: value.detach() for name, value in logs.items()}

    # ----------------------------------------------------------------- validation and test
    def on_validation_epoch_start(self) -> None:
        self.validation_samples = []

    def _evaluate(self, batch, batch_idx: int, prefix: str) -> None:
        noisy, clean = batch["noisy"][0], batch["clean"][0]
        enhanced = self.inference_module()(noisy)
        scores = self.metrics(enhanced, noisy, clean)
        scores["l1"] = (enhanced - clean).abs().mean()
        scores["spectrogram"] = self.spectrogram_loss(enhanced.unsqueeze(0), clean.unsqueeze(0))
        for name, value in scores.items():
            mean = self.epoch_means[prefix][name]
            mean.update(value)
            self.log(f"{prefix}/{name}", mean, on_step=False, on_epoch=True, batch_size=1)
        if prefix == "val" and len(self.validation_samples) < self.samples_to_log:
            audio = {"noisy": noisy, "enhanced": enhanced, "clean": clean}
            self.validation_samples.append(
                {
                    "name": f"clip{batch_idx}",
                    "sample_rate": self.audio.sample_rate,
                    "audio": audio,
                    "mel": {label: self.log_mel(wave.unsqueeze(0))[0] for label, wave in audio.items()},
                }
            )

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, batch_idx, "test")

    def inference_module(self) -> Denoiser:
        """What ``infer.py`` and validation run: the chunked denoiser over this task's generator."""
        return Denoiser(self.generator, self.audio.sample_rate, self.chunk_seconds)

    def export_spec(self, samples: int = 4096) -> ExportSpec:
        """What ``infer.py export=...`` writes: noisy waveform [B, 1, T] -> denoised waveform [B, 1, T], for
        any batch size and T, with the postnet as the checkpoint's stage left it (``generator.use_postnet``).
        One whole-signal pass: long files need the chunking of ``inference_module`` to bound memory."""
        return ExportSpec(
            FinalOutput(inference_copy(self.generator)),
            torch.randn(1, 1, samples, device=self.device),
            input_name="noisy",
            output_name="denoised",
            dynamic_axes={"noisy": {0: "batch", 2: "samples"}, "denoised": {0: "batch", 2: "samples"}},
        )
