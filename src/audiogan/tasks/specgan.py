"""SpecGAN task: z ~ U[-1, 1]^100 -> normalised 128x128 log-magnitude spectrogram, WGAN-GP, D:G 5:1."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from audiogan.audio.length import crop_or_pad
from audiogan.audio.spectrogram import FrequencyMoments, LogMagnitudeSTFT, invert, temporal_shift
from audiogan.export import Denormalised, ExportSpec, inference_copy
from audiogan.inference.audio_model import Audio
from audiogan.losses.gradient_penalty import gradient_penalty
from audiogan.metrics.digits import (
    classify,
    fit_clip,
    frechet_distance,
    inception_score,
    inception_splits,
    load_digit_classifier,
)
from audiogan.samples import Sample
from audiogan.tasks.base import GANTask
from audiogan.tasks.roles import Exportable, PythonAPI, Sampler
from audiogan.utils.config import to_dict
from audiogan.utils.images import render_grid

log = logging.getLogger(__name__)


class SpecGANSampler:
    """``audiogan.load`` of a SpecGAN: ``generator.sample(n, seed=...)`` -> :class:`Audio` [n, T]."""

    def __init__(self, task: SpecGANTask):
        self.task = task
        self.sample_rate = task.audio_config.sample_rate

    def sample(self, n: int, seed: int | None = None, griffin_lim_iters: int | None = None) -> Audio:
        """``n`` clips of ``slice_length`` samples, by Griffin-Lim from generated spectrograms."""
        return Audio(self.task.sample(n, seed, griffin_lim_iters)[1], self.sample_rate)


class SpecGANTask(GANTask, Sampler, Exportable, PythonAPI):
    """Unconditional spectrogram GAN (Donahue et al. 2019) on fixed-length audio slices.

    Real slices become log-magnitude spectrograms on the model's device, normalised per frequency
    bin with moments of the training set (computed once, cached beside the data, kept in the
    checkpoint) and clipped to [-1, 1]. Generated spectrograms become audio by Griffin-Lim. The generator
    step draws its own latents, as in WaveGAN/SpecGAN, rather than reusing those of the last critic step.
    """

    fresh_outputs_for_generator = True

    def __init__(
        self,
        loss_weights: Mapping[str, Any],
        slice_length: int = 16384,
        max_shift: int = 0,
        griffin_lim_iters: int = 16,
        moments_cache_dir: str | None = None,
        sample_seed: int = 0,
        digit_classifier: str | None = None,
        metric_samples: int = 256,
        **engine: Any,
    ):
        super().__init__(**engine)
        self.gradient_penalty_weight = float(to_dict(loss_weights).get("gradient_penalty", 0.0))
        config = self.audio_config
        self.features = LogMagnitudeSTFT(n_fft=config.n_fft, hop_length=config.hop_length)
        self.moments = FrequencyMoments(n_bins=self.audio_config.n_fft // 2 + 1)
        self.slice_length = slice_length
        self.max_shift = max_shift
        self.griffin_lim_iters = griffin_lim_iters
        self.moments_cache_dir = Path(moments_cache_dir) if moments_cache_dir else None
        self.sample_seed = sample_seed
        self.digit_classifier_path = Path(digit_classifier) if digit_classifier else None
        self.metric_samples = metric_samples
        self._classifier: list[nn.Module] = []
        self._held_out_audio: list[torch.Tensor] = []

    # ----------------------------------------------------------------- moments
    def setup(self, stage: str) -> None:
        if stage == "fit" and not self.moments.is_set:
            if self.trainer.datamodule is None:
                raise RuntimeError("SpecGAN needs its training data's moments: fit with a datamodule")
            self._set_moments(self.trainer.datamodule.datasets["train"])

    @torch.no_grad()
    def _set_moments(self, dataset, batch_size: int = 64) -> None:
        """Per-bin moments over one slice of every training clip: the training dataset's item with seed 0 (a
        clip longer than the slice gives a crop at a seed-0 random start, as training draws them; a shorter
        one is end-padded). Cached by content hash."""
        key = json.dumps(
            [
                sorted(str(u.path) for u in dataset.utterances),
                self.slice_length,
                self.audio_config.n_fft,
                self.audio_config.hop_length,
            ]
        )
        cache = None
        if self.moments_cache_dir is not None:
            cache = (
                self.moments_cache_dir / f"specgan_moments_{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
            )
            if cache.is_file():
                self.moments.load(cache)
                log.info("frequency moments loaded from %s", cache)
                return

        def batches():
            for start in range(0, len(dataset), batch_size):
                items = [
                    dataset[(i, 0)]["audio"] for i in range(start, min(start + batch_size, len(dataset)))
                ]
                yield torch.stack(items).to(self.device)

        self.moments.compute(batches(), self.features)
        if cache is not None:
            self.moments.save(cache)
            log.info("frequency moments of %d frames cached at %s", int(self.moments.num_frames), cache)

    # ----------------------------------------------------------------- engine interface
    def real_spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, T] -> its first slice (end-padded), normalised: [B, 1, 128, 128] in [-1, 1]."""
        return self.moments.normalize(self.features(crop_or_pad(audio, self.slice_length)))

    def generate(self, batch):
        audio = batch["audio"]
        if self.max_shift:
            audio = temporal_shift(audio, self.max_shift)
        z = self.generator.sample_latent(audio.shape[0], device=audio.device)
        return {"real": self.real_spectrogram(audio), "fake": self.generator(z)}

    def discriminator_loss(self, batch, generated):
        real, fake = generated["real"], generated["fake"].detach()
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)
        loss = self.gan_loss.discriminator([d_real], [d_fake])
        logs = {
            "train/d_real": d_real.mean(),
            "train/d_fake": d_fake.mean(),
            "train/wasserstein": d_real.mean() - d_fake.mean(),
        }
        if self.gradient_penalty_weight:
            penalty, grad_norm = gradient_penalty(
                self.discriminator, real, fake, self.gradient_penalty_weight
            )
            loss = loss + penalty
            logs.update({"train/gradient_penalty": penalty, "train/gradient_norm": grad_norm})
        logs["train/d_loss"] = loss
        return loss, logs, {}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        loss = self.gan_loss.generator([self.discriminator(generated["fake"])])
        return loss, {"train/g_loss": loss}

    # ----------------------------------------------------------------- sampling and validation
    @torch.no_grad()
    def sample(self, n, seed=None, griffin_lim_iters=None):
        """``n`` generated (normalised spectrogram [n, 1, 128, 128], audio [n, slice_length]) pairs; audio by
        Griffin-Lim with ``griffin_lim_iters`` iterations (default: the task's)."""
        spectrograms = self.generate_spectrograms(n, seed)
        return spectrograms, self.to_audio(spectrograms, griffin_lim_iters)

    @torch.no_grad()
    def generate_spectrograms(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` normalised spectrograms [n, 1, 128, 128] from latents drawn on the CPU with ``seed``."""
        generator = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
        z = self.generator.sample_latent(n, generator=generator, device="cpu").to(self.device)
        return self.generator(z).float()

    def to_audio(self, spectrograms: torch.Tensor, griffin_lim_iters: int | None = None) -> torch.Tensor:
        """Normalised spectrograms [n, 1, 128, 128] -> audio [n, slice_length] by Griffin-Lim."""
        n_iter = griffin_lim_iters if griffin_lim_iters is not None else self.griffin_lim_iters
        return invert(spectrograms, self.moments, n_iter, self.audio_config.hop_length, self.slice_length)

    def evaluate(self, batch, batch_idx):
        """D's score of held-out real slices; the clips are kept for the epoch's Fréchet distance."""
        if batch_idx == 0:  # a new validation or test run
            self._held_out_audio = []
        self._held_out_audio.append(fit_clip(batch["audio"], self.slice_length).cpu())
        return {"d_real": self.discriminator(self.real_spectrogram(batch["audio"])).mean()}, None

    def evaluate_epoch(self):
        """Generated samples with a fixed seed: D's score, the digit metrics, four clips and a grid. Only the
        clips that are listened to or classified are inverted to audio (Griffin-Lim is the cost here)."""
        spectrograms = self.generate_spectrograms(
            max(self.samples_to_log, self.metric_samples), self.sample_seed
        )
        split = "test" if self.trainer.testing else "val"
        d_real = self.epoch_means[split]["d_real"].compute()
        d_fake = self.discriminator(spectrograms).mean()
        scores = {"d_fake": d_fake, "wasserstein": d_real - d_fake}
        classifier = self._digit_classifier()
        audio = self.to_audio(
            spectrograms[: self.metric_samples if classifier else min(4, self.samples_to_log)]
        )
        if classifier is not None:
            scores.update(self._digit_metrics(classifier, audio))
        shown = spectrograms[: self.samples_to_log]
        samples = [
            Sample(
                f"sample{i}",
                self.audio_config.sample_rate,
                audio={"generated": audio[i]},
                spectrograms={"generated": shown[i, 0]},
            )
            for i in range(min(4, len(shown)))
        ]
        samples.append(Sample("grid", images={"generated": render_grid(shown[:, 0])}))
        return scores, samples

    def _digit_classifier(self) -> nn.Module | None:
        """The digit classifier of the metrics, loaded once; None when none is configured or found (warned
        once). It is held in a list, out of the module tree, so checkpoints never carry it."""
        if not self._classifier and self.digit_classifier_path is not None:
            if self.digit_classifier_path.is_file():
                self._classifier.append(load_digit_classifier(self.digit_classifier_path, str(self.device)))
            else:
                log.warning(
                    "no digit classifier at %s: train it with `python -m audiogan.commands.digit_classifier` "
                    "to get val/inception_score and val/fid",
                    self.digit_classifier_path,
                )
                self.digit_classifier_path = None
        return self._classifier[0] if self._classifier else None

    def _digit_metrics(self, classifier: nn.Module, generated: torch.Tensor) -> dict[str, torch.Tensor]:
        """SC09 protocol: Inception score of generated clips and Fréchet distance to held-out real clips,
        both in the classifier's feature space (``python -m audiogan.commands.digit_classifier``)."""
        probabilities, fake_features = classify(classifier, generated)
        real_probabilities, real_features = classify(classifier, torch.cat(self._held_out_audio))
        return {
            "inception_score": inception_score(probabilities, inception_splits(len(probabilities)))[0],
            "inception_score_real": inception_score(
                real_probabilities, inception_splits(len(real_probabilities))
            )[0],
            "fid": frechet_distance(real_features, fake_features),
        }

    def python_api(self) -> SpecGANSampler:
        return SpecGANSampler(self)

    def export_spec(self) -> ExportSpec:
        """Latent z [B, latent_dim] (U[-1, 1], see ``sample_latent``)
        -> log magnitude log(|STFT| + 1e-6) [B, 1, 128 bins, 128 frames], this task's features: the
        generator's normalised output with the training set's moments undone, ready for Griffin-Lim."""
        return ExportSpec(
            Denormalised(inference_copy(self.generator), inference_copy(self.moments)),
            self.generator.sample_latent(1),
            input_name="z",
            output_name="log_magnitude",
            dynamic_axes={"z": {0: "batch"}, "log_magnitude": {0: "batch"}},
        )
