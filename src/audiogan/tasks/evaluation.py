"""The validation and test loops of every task: per-epoch means of a family's scores (NaN-tolerant, synced
over ranks), the samples the sample logger shows, and where the run stood when it was measured."""

from __future__ import annotations

from torchmetrics import MeanMetric

from audiogan.samples import Sample


class EvaluationLoops:
    """Lightning's validation and test hooks over a family's ``evaluate`` / ``evaluate_epoch`` (mixed into
    :class:`audiogan.tasks.base.GANTask`, which creates ``epoch_means`` and ``validation_samples``)."""

    validation_samples: list[Sample]

    def on_validation_epoch_start(self) -> None:
        self.validation_samples = []

    def validation_step(self, batch, batch_idx):
        self._evaluate_batch("val", batch, batch_idx)

    def test_step(self, batch, batch_idx):
        self._evaluate_batch("test", batch, batch_idx)

    def on_validation_epoch_end(self) -> None:
        self._evaluate_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._evaluate_epoch("test")

    def _evaluate_batch(self, split: str, batch, batch_idx: int) -> None:
        scores, sample = self.evaluate(batch, batch_idx)
        batch_size = next(iter(batch.values())).shape[0]
        means = self.epoch_means[split]
        for name, value in scores.items():
            if name not in means:
                means[name] = MeanMetric(nan_strategy="ignore").to(self.device)
            means[name].update(value.detach().float(), batch_size)
            self.log(
                f"{split}/{name}",
                means[name],
                on_step=False,
                on_epoch=True,
                batch_size=batch_size,
                metric_attribute=f"epoch_means.{split}.{name}",
            )
        if split == "val" and sample is not None and len(self.validation_samples) < self.samples_to_log:
            self.validation_samples.append(sample)

    def _evaluate_epoch(self, split: str) -> None:
        scores, samples = self.evaluate_epoch()
        if scores:
            self.log_dict({f"{split}/{name}": value for name, value in scores.items()}, sync_dist=True)
        if split == "val":
            self.validation_samples.extend(samples)
            # where the run stood, in the same logged row as the scores: learning curves against batches and
            # wall-clock seconds (the logger's own step counts optimizer steps or epochs)
            progress = {
                "progress/batches": float(self.counters.batches),
                "progress/seconds": self.elapsed_seconds(),
            }
            self.log_dict(progress, on_step=False, on_epoch=True, sync_dist=True)
