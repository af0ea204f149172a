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

from audiogan.audio.features import LogMelSpectrogram
from audiogan.audio.overlap_add import process_in_chunks
from audiogan.export import ExportSpec, FinalOutput, inference_copy
from audiogan.losses.feature_matching import feature_matching_loss
from audiogan.losses.spectral import LogSpectrogramLoss
from audiogan.metrics.enhancement import EnhancementMetrics
from audiogan.models.layers import joint_pass
from audiogan.samples import Sample
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, Resynthesizer
from audiogan.tasks.schedule import Stage
from audiogan.utils.config import to_dict

GENERATOR_PARTS = ("wavenet", "postnet")


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


@dataclass(frozen=True)
class DenoiserStage:
    """A stage's switches (``schedule.stages[*].options``): whether the postnet runs, which parts train."""

    use_postnet: bool = True
    train: tuple[str, ...] = GENERATOR_PARTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "train", tuple(self.train))
        if not self.train or not set(self.train) <= set(GENERATOR_PARTS):
            raise ValueError(f"train must be a non-empty subset of {list(GENERATOR_PARTS)}, got {self.train}")


class HiFiGANDenoiseTask(GANTask, Resynthesizer, Exportable):
    """Trains a WaveNet + postnet denoiser in the paper's three stages against four discriminators.

    Generator loss = ``sample_l1`` x L1(samples) + ``spectrogram`` x log-spectrogram L1 (at
    ``spectrogram_resolutions``), plus in adversarial stages ``adversarial`` x the objective summed over
    the 4 discriminators and ``feature_matching`` x L1 between their activations for the clean target
    and the output (every layer of every discriminator). Validation denoises fixed mixtures and reports
    PESQ (wb), STOI and SI-SDR of the output next to those of the noisy input.
    """

    stage_options = DenoiserStage

    def __init__(
        self,
        loss_weights: Mapping[str, Any],
        spectrogram_resolutions: Sequence[Sequence[int]] = ((2048, 512), (512, 128)),
        chunk_seconds: float = 4.0,
        **engine: Any,
    ):
        super().__init__(**engine)
        self.weights = LossWeights(**to_dict(loss_weights))
        self.spectrogram_loss = LogSpectrogramLoss(spectrogram_resolutions)
        self.log_mel = LogMelSpectrogram(self.audio_config)
        self.metrics = EnhancementMetrics(self.audio_config.sample_rate)
        self.chunk_seconds = chunk_seconds
        self._set_structure(self.stage_of(self.schedule.first_batch)[0])

    # ----------------------------------------------------------------- stages
    def _set_structure(self, stage: Stage) -> None:
        self.generator.use_postnet = stage.options.use_postnet

    def on_stage_start(self, stage: Stage) -> None:
        """Switch the postnet on or off and freeze the parts of the generator this stage does not train.

        Freezing happens here, in training, never at construction: DDP registers the parameters that
        require gradients when it wraps the model, and a part frozen then would never be synchronised.
        """
        self._set_structure(stage)
        for part in GENERATOR_PARTS:
            getattr(self.generator, part).requires_grad_(part in stage.options.train)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Rebuild the structure of the stage the checkpoint's last batch trained in (e.g. no postnet yet)."""
        super().on_load_checkpoint(checkpoint)
        self._set_structure(self.stage_of(max(self.counters.batches - 1, 0))[0])

    # ----------------------------------------------------------------- engine interface
    def generate(self, batch):
        wavenet, enhanced = self.generator(batch["noisy"].unsqueeze(1))
        return {"wavenet": wavenet, "enhanced": enhanced}

    def discriminator_loss(self, batch, generated):
        # one pass over both: the mel discriminator's batch norm normalises clean and enhanced alike
        real, fake = joint_pass(
            self.discriminator, batch["clean"].unsqueeze(1), generated["enhanced"].detach()
        )
        loss = self.gan_loss.discriminator([d[-1] for d in real], [d[-1] for d in fake])
        d_real = torch.stack([d[-1].float().mean() for d in real]).mean()
        d_fake = torch.stack([d[-1].float().mean() for d in fake]).mean()
        return loss, {"train/d_loss": loss, "train/d_real": d_real, "train/d_fake": d_fake}, {}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        enhanced, clean = generated["enhanced"].squeeze(1), batch["clean"]
        sample_l1 = (enhanced.float() - clean).abs().mean()
        spectrogram = self.spectrogram_loss(enhanced, clean)
        loss = self.weights.sample_l1 * sample_l1 + self.weights.spectrogram * spectrogram
        logs = {"train/g_sample_l1": sample_l1, "train/g_spectrogram": spectrogram}
        if adversarial:
            real, fake = joint_pass(self.discriminator, clean.unsqueeze(1), generated["enhanced"])
            adv = self.gan_loss.generator([d[-1] for d in fake])
            # deep feature matching: the clean speech's activations (targets) from the same joint pass
            targets = [[f.detach() for f in d[:-1]] for d in real]
            fm = feature_matching_loss(targets, [d[:-1] for d in fake])
            loss = loss + self.weights.adversarial * adv + self.weights.feature_matching * fm
            logs.update({"train/g_adv": adv, "train/g_feature_matching": fm})
        logs["train/g_loss"] = loss
        return loss, {name: value.detach() for name, value in logs.items()}

    # ----------------------------------------------------------------- validation and test
    def evaluate(self, batch, batch_idx):
        """One held-out mixture (batch of 1, any length) denoised as infer.py would, scored against clean."""
        noisy, clean = batch["noisy"][0], batch["clean"][0]
        enhanced = self.inference_module()(noisy)
        scores = self.metrics(enhanced, noisy, clean)
        scores["l1"] = (enhanced - clean).abs().mean()
        scores["spectrogram"] = self.spectrogram_loss(enhanced.unsqueeze(0), clean.unsqueeze(0))
        audio = {"clean": clean, "enhanced": enhanced, "noisy": noisy}  # reference, output, baseline
        mels = {label: self.log_mel(wave.unsqueeze(0))[0] for label, wave in audio.items()}
        roles = {"clean": "reference", "noisy": "input"}
        return scores, Sample(f"clip{batch_idx}", self.audio_config.sample_rate, audio, mels, roles=roles)

    # ----------------------------------------------------------------- what it offers the commands
    def inference_module(self) -> Denoiser:
        """infer.py and validation: the chunked denoiser over this task's generator."""
        return Denoiser(self.generator, self.audio_config.sample_rate, self.chunk_seconds)

    def export_spec(self, samples: int = 4096) -> ExportSpec:
        """Noisy waveform [B, 1, T] -> denoised waveform [B, 1, T], for any batch size and T, with the postnet
        as the checkpoint's stage left it (``generator.use_postnet``). One whole-signal pass: long files
        need the chunking of ``inference_module`` to bound memory."""
        return ExportSpec(
            FinalOutput(inference_copy(self.generator)),
            torch.randn(1, 1, samples, device=self.device),
            input_name="noisy",
            output_name="denoised",
            dynamic_axes={"noisy": {0: "batch", 2: "samples"}, "denoised": {0: "batch", 2: "samples"}},
        )
