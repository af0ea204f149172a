"""The GAN engine: one LightningModule base that owns the update schedule for every family.

A family supplies the networks (as configs) and four methods: ``generate(batch)``,
``discriminator_loss(batch, generated)``, ``generator_loss(batch, generated, adversarial, from_d)`` and
``evaluate(batch, batch_idx)``. The engine decides, batch by batch, which network updates and how often
(:mod:`audiogan.tasks.schedule`: the D:G ratio, warm-up, curricula of stages, the budget in batches), and
also owns:

* skipping the D update while its loss (averaged over all ranks) is below a threshold;
* gradient clipping per network, lr schedulers per step / per epoch / on a validation metric
  (:mod:`audiogan.tasks.optimizers`);
* its counters and the random generators' states saved in and restored from checkpoints
  (:mod:`audiogan.tasks.resumable`), and identical decisions on every DDP rank;
* the validation and test loops (:mod:`audiogan.tasks.evaluation`).

What a family offers the commands (inference, a mel vocoder, export, sampling) are roles it takes on
(:mod:`audiogan.tasks.roles`); the engine takes on none.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from torch import nn

from audiogan.audio.config import AudioConfig
from audiogan.errors import NonFiniteLossError
from audiogan.samples import Sample
from audiogan.tasks.evaluation import EvaluationLoops
from audiogan.tasks.optimizers import (
    NETWORKS,
    build_optimizers,
    check_grad_clip,
    clip_by_part,
    step_schedulers,
)
from audiogan.tasks.resumable import ResumableState
from audiogan.tasks.schedule import Counters, Schedule, Stage
from audiogan.utils.config import to_dict

log = logging.getLogger(__name__)

Logs = dict[str, torch.Tensor]


def build_schedule(
    schedule: Mapping[str, Any] | None, optim: Mapping[str, Any], options_type: type | None
) -> Schedule:
    """The task's :class:`Schedule` from its ``schedule`` and ``optim`` config nodes (a warm-up's learning
    rates go back to the configured ones when it ends)."""
    configured_lr = {name: optim[name].get("lr") for name in NETWORKS if name in optim}
    return Schedule(**to_dict(schedule), options_type=options_type, optimizer_lr=configured_lr)


class GANTask(ResumableState, EvaluationLoops, L.LightningModule):
    """Manual-optimization GAN base. Optimizer 0 is the generator's, optimizer 1 the discriminator's.

    ``generator``, ``discriminator`` and ``gan_loss`` (the adversarial objective, conf/loss/) are configs
    with a ``_target_``; ``audio_config`` is the shared front-end node (None for tasks without one);
    ``samples_to_log``: how many held-out examples each validation shows. A family's constructor takes its
    own arguments and passes these on as ``**engine``; all of them become the checkpoint's hyperparameters.
    """

    # the family's per-stage switches (a dataclass; see Stage.options), None when it has none
    stage_options: type | None = None
    # True: G updates on fresh generator outputs (new latents), not on those the D step of the batch scored
    fresh_outputs_for_generator: bool = False
    # constructor arguments renamed since 0.1: {old name: new name}; checkpoints and configs with the old
    # names still load (upgrade_arguments)
    renamed_arguments: dict[str, str] = {"adversarial": "gan_loss", "audio": "audio_config"}

    def __init__(
        self,
        generator: Mapping[str, Any],
        discriminator: Mapping[str, Any],
        gan_loss: Mapping[str, Any] | None = None,
        audio_config: Mapping[str, Any] | None = None,
        schedule: Mapping[str, Any] | None = None,
        optim: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        samples_to_log: int = 4,
    ):
        super().__init__()
        self.save_hyperparameters()  # the family's arguments too: Lightning collects the whole __init__ chain
        self.automatic_optimization = False
        self.generator = instantiate(to_dict(generator))
        self.discriminator = instantiate(to_dict(discriminator))
        self.gan_loss = instantiate(to_dict(gan_loss)) if gan_loss else None
        self.audio_config = AudioConfig.from_config(to_dict(audio_config)) if audio_config else None
        self.optim_cfg = to_dict(optim)
        check_grad_clip(
            self.optim_cfg.get("grad_clip") or {},
            {"generator": self.generator, "discriminator": self.discriminator},
        )
        self.schedule = build_schedule(schedule, self.optim_cfg, self.stage_options)
        self.scheduler_cfg = to_dict(scheduler)
        self.samples_to_log = samples_to_log
        self.counters = Counters()
        self.validation_samples: list[Sample] = []
        # per-epoch means of evaluate()'s scores, one per split and score, created as scores first appear
        self.epoch_means = nn.ModuleDict({"val": nn.ModuleDict(), "test": nn.ModuleDict()})
        self._stage: Stage | None = None  # the stage whose settings are applied (not saved: re-applied)
        # the metrics of this epoch's latest validation, for the per-epoch plateau schedulers
        self._last_validation: dict[str, Any] | None = None
        # wall-clock seconds trained before this fit (restored from a checkpoint), and when this fit started
        self._seconds_before = 0.0
        self._fit_started: float | None = None
        self._rng_to_restore: dict[str, Any] | None = None  # a checkpoint's generator states, until batch 1
        if any(stage.reset_discriminator for stage in self.schedule.stages):
            self._initial_discriminator = copy.deepcopy(self.discriminator.state_dict())

    @classmethod
    def upgrade_arguments(cls, arguments: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Constructor arguments saved under older names, under today's; what was renamed is said in one log
        line naming ``source`` (the checkpoint or config they came from)."""
        upgraded = dict(arguments)
        renamed = cls.rename_old_arguments(upgraded)
        if renamed:
            log.info("%s was written with older argument names: %s", source, ", ".join(renamed))
        return upgraded

    @classmethod
    def rename_old_arguments(cls, arguments: dict[str, Any]) -> list[str]:
        """Rename, in place, the arguments of ``renamed_arguments`` (a family adds its own renames by
        extending this); returns "old -> new" for each rename."""
        renamed = []
        for old, new in cls.renamed_arguments.items():
            if old in arguments:
                arguments[new] = arguments.pop(old)
                renamed.append(f"{old} -> {new}")
        return renamed

    # ----------------------------------------------------------------- family interface
    def generate(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the generator; its outputs are shared by the D and G losses of this batch."""
        raise NotImplementedError

    def discriminator_loss(self, batch, generated) -> tuple[torch.Tensor, Logs, dict[str, Any]]:
        """D objective on real data and detached ``generated``: (loss, values to log, what the G step of this
        batch reuses, e.g. D's activations on real data as feature-matching targets; {} for nothing)."""
        raise NotImplementedError

    def generator_loss(
        self, batch, generated, adversarial: bool, from_discriminator: dict[str, Any]
    ) -> tuple[torch.Tensor, Logs]:
        """G objective; ``adversarial`` is False in non-adversarial stages (reconstruction terms only).
        ``from_discriminator`` is what this batch's D step handed over ({} when D did not run on it)."""
        raise NotImplementedError

    def evaluate(self, batch, batch_idx: int) -> tuple[dict[str, torch.Tensor], Sample | None]:
        """Scores of one held-out batch (the engine logs their means over the epoch as ``<split>/<name>``;
        NaN = not measurable for this batch, left out of the mean) and an example to show, or None."""
        raise NotImplementedError

    def evaluate_epoch(self) -> tuple[dict[str, torch.Tensor], list[Sample]]:
        """Scores and examples made once per validation or test run, after its batches (e.g. from
        generated samples); none by default."""
        return {}, []

    def on_stage_start(self, stage: Stage) -> None:
        """Family hook: what else changes when ``stage`` begins (e.g. which parts of G train)."""

    # ----------------------------------------------------------------- stages
    def stage_of(self, batch_index: int) -> tuple[Stage, int]:
        """(the stage batch ``batch_index`` trains in, the batch index where that stage starts)."""
        index, start = self.schedule.stage_at(batch_index)
        return self.schedule.stages[index], start

    def _current_stage(self) -> Stage:
        """The stage of the batch about to train, its settings applied when it differs from the last one's:
        at a stage's first batch its learning rates and discriminator reset (a run resumed inside the stage
        has them from its checkpoint: the optimizers' state, scheduler progress included), always the
        family's ``on_stage_start``."""
        stage, start = self.stage_of(self.counters.batches)
        if stage is self._stage:
            return stage
        fresh = self.counters.batches == start
        for name, optimizer in zip(NETWORKS, self.optimizers(), strict=True):
            if fresh and name in stage.lr:
                for group in optimizer.param_groups:
                    group["lr"] = float(stage.lr[name])
        if fresh and stage.reset_discriminator:
            self.discriminator.load_state_dict(self._initial_discriminator)
            self.optimizers()[1].state.clear()
        self.on_stage_start(stage)
        self._stage = stage
        return stage

    # ----------------------------------------------------------------- optimizers
    def configure_optimizers(self):
        networks = {"generator": self.generator, "discriminator": self.discriminator}
        optimizers, schedulers, self._scheduler_specs = build_optimizers(
            networks, self.optim_cfg, self.scheduler_cfg
        )
        return optimizers, schedulers

    def _step_schedulers(self, interval: str, metrics: Mapping[str, Any] | None = None) -> None:
        configured = self.lr_schedulers()
        if configured is None:
            return
        configured = configured if isinstance(configured, list) else [configured]
        step_schedulers(configured, self._scheduler_specs, interval, metrics)

    def on_before_optimizer_step(self, optimizer) -> None:
        """Clip the gradients of the network about to step (``optim.grad_clip.<network>``, by norm): one norm
        over the whole network, or ``{part: max_norm}``, each named child module clipped apart (BigVGAN: the
        MPD and the CQT-D); the norms before clipping are logged. Lightning calls this after 16-mixed
        unscaled the gradients, except for a fused optimizer, which unscales inside its step: those are
        unscaled here first (torch's GradScaler then steps it without scaling again)."""
        network = "generator" if optimizer is self.optimizers()[0].optimizer else "discriminator"
        clip = self.optim_cfg.get("grad_clip", {}).get(network)
        if not clip:
            return
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if scaler is not None and any(group.get("fused") for group in optimizer.param_groups):
            scaler.unscale_(optimizer)
        parts = clip if isinstance(clip, Mapping) else {None: clip}
        norms = clip_by_part(getattr(self, network), parts)
        self.log_dict(
            {
                f"train/grad_norm_{network}" + (f"_{part}" if part else ""): norm
                for part, norm in norms.items()
            }
        )

    # ----------------------------------------------------------------- the training step
    def training_step(self, batch, batch_idx):
        stage = self._current_stage()
        update_d, g_updates = self.schedule.updates_for(self.counters.batches)
        logs: dict[str, torch.Tensor] = {}
        generated, from_discriminator = None, {}
        if update_d:
            keep_graph = g_updates > 0 and not self.fresh_outputs_for_generator
            with torch.set_grad_enabled(keep_graph):
                generated = self.generate(batch)
            from_discriminator = self._discriminator_step(batch, generated, logs)
        for k in range(g_updates):
            if generated is None or k > 0 or self.fresh_outputs_for_generator:
                generated = self.generate(batch)
            self._generator_step(batch, generated, stage.adversarial, from_discriminator, logs)
        self._finish_batch(batch, logs)

    def _discriminator_step(self, batch, generated, logs: Logs) -> dict[str, Any]:
        """One D update (skipped while its loss is below ``schedule.d_loss_threshold`` on all ranks)."""
        optimizer = self.optimizers()[1]
        self.toggle_optimizer(optimizer)
        loss, d_logs, from_discriminator = self.discriminator_loss(batch, generated)
        self._check_finite("discriminator", loss)
        logs.update(d_logs)
        threshold = self.schedule.d_loss_threshold
        if threshold is not None and self._all_ranks_mean(loss) < threshold:
            self.counters.d_skipped += 1
        else:
            self._update(optimizer, loss)
            self.counters.d_updates += 1
        self.untoggle_optimizer(optimizer)
        return from_discriminator

    def _generator_step(self, batch, generated, adversarial: bool, from_discriminator, logs: Logs) -> None:
        optimizer = self.optimizers()[0]
        self.toggle_optimizer(optimizer)
        loss, g_logs = self.generator_loss(batch, generated, adversarial, from_discriminator)
        self._check_finite("generator", loss)
        logs.update(g_logs)
        self._update(optimizer, loss)
        self.counters.g_updates += 1
        self.untoggle_optimizer(optimizer)

    def _finish_batch(self, batch, logs: Logs) -> None:
        """Count the batch, step per-step schedulers, log, and stop when the budget is used up."""
        self.counters.batches += 1
        self._step_schedulers("step")
        logs["train/d_updates"] = float(self.counters.d_updates)
        logs["train/g_updates"] = float(self.counters.g_updates)
        batch_size = next(iter(batch.values())).shape[0] if isinstance(batch, Mapping) else None
        values = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in logs.items()}
        self.log_dict(values, on_step=True, on_epoch=False, prog_bar=False, batch_size=batch_size)
        if self.schedule.finished(self.counters.batches):
            self.trainer.should_stop = True

    def _all_ranks_mean(self, value: torch.Tensor) -> float:
        return float(self.trainer.strategy.reduce(value.detach().float(), reduce_op="mean"))

    def _check_finite(self, name: str, loss: torch.Tensor) -> None:
        finite = torch.isfinite(loss.detach()).all()
        if not self.trainer.strategy.reduce_boolean_decision(bool(finite), all=True):
            raise NonFiniteLossError(
                f"{name} loss is {loss.detach().float().item()} (non-finite on at least one rank) at batch "
                f"{self.counters.batches} (global step {self.global_step}); stopping. The last checkpoint "
                "written before this batch is intact."
            )

    def _update(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    # ----------------------------------------------------------------- epochs and validations
    def on_train_epoch_end(self) -> None:
        self._step_schedulers("epoch")
        if self._last_validation is not None:  # epochs without a validation leave plateau schedulers alone
            self._step_schedulers("plateau", self._last_validation)
            self._last_validation = None

    def on_validation_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._last_validation = dict(self.trainer.callback_metrics)
            self._step_schedulers("plateau_validation", self.trainer.callback_metrics)

    # ----------------------------------------------------------------- fit
    def on_fit_start(self) -> None:
        self._fit_started = time.monotonic()
        first = self.schedule.first_batch
        if self.counters.batches < first:  # only_stage: skip the earlier stages (their work is loaded)
            self.counters.batches = first
        elif self.schedule.only_stage and self.counters.batches > (self.schedule.max_batches or math.inf):
            raise ValueError(
                f"schedule.only_stage={self.schedule.only_stage!r} ends at batch "
                f"{self.schedule.max_batches}, but the checkpoint is already at batch {self.counters.batches}"
            )
        if self.schedule.finished(self.counters.batches):
            self.trainer.should_stop = True
