"""The GAN engine: one LightningModule base that owns the update schedule for every family.

A family supplies the networks (as configs) and four methods: ``generate(batch)``,
``discriminator_loss(batch, generated)``, ``generator_loss(batch, generated, adversarial, from_d)`` and
``evaluate(batch, batch_idx)``. The engine decides, batch by batch, which network updates and how often:

* ``n_d:n_g`` -- n_d discriminator updates, each on a fresh batch, then n_g generator updates on
  the last of those batches (5:1 = five batches of D, the fifth also G; 1:2 = every batch one D
  update then two G updates).
* generator-only warm-up batches before the adversarial phase, or a whole curriculum of stages
  (``schedule.stages``: length, adversarial or not, ratio, learning rates, D reset), one command;
* skipping the D update while its loss (averaged over all ranks) is below a threshold;
* gradient clipping per network, lr schedulers per step / per epoch / on a validation metric;
* a training budget counted in batches (Lightning's ``global_step`` counts optimizer steps, which
  vary with the ratio and with skipped updates);
* its counters saved in and restored from checkpoints, and identical decisions on every DDP rank;
* the validation and test loops: per-epoch means of the family's scores (NaN-tolerant, synced over ranks)
  and the :class:`Sample` list the sample logger shows.

What a family offers the commands (``inference_module``, ``mel_vocoder``, ``export_spec``, ``sample``) is
declared here with a default that refuses by name, and overridden by the families that offer it.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from torch import nn
from torchmetrics import MeanMetric

from audiogan.audio.config import AudioConfig
from audiogan.utils.config import ConfigError, to_dict

if TYPE_CHECKING:
    from audiogan.export import ExportSpec

# plateau: ReduceLROnPlateau stepped once per epoch with the last validation's monitor (patience counts
# epochs); plateau_validation: stepped at every validation (patience counts validations)
SCHEDULER_INTERVALS = ("step", "epoch", "plateau", "plateau_validation")


Logs = dict[str, torch.Tensor]

# what an audio example of a Sample is, in the order a listener meets them
SAMPLE_ROLES = ("input", "reference", "output", "baseline")


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; the message names the loss, its value and the batch."""


class UnsupportedCommand(ConfigError):
    """A command asked a family for something it does not offer (e.g. sampling from a vocoder)."""


@dataclass
class Sample:
    """One held-out example as the sample logger saves and shows it.

    ``audio``: {label: waveform [T] in [-1, 1] at ``sample_rate``}; ``spectrograms``: {label: [bins, frames]}
    (log-mel or normalised spectrogram), rendered to images by the logger; ``images``: {label: RGB uint8
    [H, W, 3]} rendered by the family (e.g. a grid of generated spectrograms). ``roles``: {audio label: one
    of ``SAMPLE_ROLES``} for what is not the model's output (the input it was given, the reference it should
    match, a baseline it should beat); an audio label not named is an ``output``.
    """

    name: str
    sample_rate: int | None = None
    audio: dict[str, torch.Tensor] = field(default_factory=dict)
    spectrograms: dict[str, torch.Tensor] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {label: role for label, role in self.roles.items() if role not in SAMPLE_ROLES}
        if unknown:
            raise ValueError(f"sample {self.name!r}: roles {unknown}; expected roles among {SAMPLE_ROLES}")

    def audio_roles(self) -> dict[str, str]:
        """{audio label: role}, in the order of ``SAMPLE_ROLES`` (input, reference, output, baseline)."""
        roles = {label: self.roles.get(label, "output") for label in self.audio}
        return dict(sorted(roles.items(), key=lambda item: SAMPLE_ROLES.index(item[1])))


@dataclass
class Stage:
    """One phase of a curriculum: its length, whether D trains, its D:G ratio, its learning rates.

    ``batches=None`` runs until the budget ends (last stage only). ``lr`` sets optimizers' learning
    rates when the stage begins; ``reset_discriminator`` restarts D from its initial weights and clears
    its optimizer state ("freshly initialised discriminators"). ``options`` are the family's own switches
    for ``on_stage_start``, an instance of its ``GANTask.stage_options`` dataclass (None for families
    without any).
    """

    name: str
    batches: int | None = None
    adversarial: bool = True
    n_d: int = 1
    n_g: int = 1
    lr: dict[str, float] = field(default_factory=dict)
    reset_discriminator: bool = False
    options: Any = None

    def __post_init__(self) -> None:
        if self.n_d < 1 or self.n_g < 1:
            raise ValueError(f"schedule: n_d and n_g must be >= 1, got n_d={self.n_d} n_g={self.n_g}")
        if self.batches is not None and self.batches < 1:
            raise ValueError(f"schedule stage {self.name!r}: batches must be >= 1, got {self.batches}")


@dataclass
class Schedule:
    """Who updates when. Numbers come from the model config's ``schedule`` node.

    Either one adversarial phase at ``n_d:n_g`` after ``warmup_batches`` generator-only batches, or an
    explicit list of ``stages`` (a curriculum run by one command); ``max_batches`` defaults to their sum.
    ``only_stage`` names one stage to run alone: training starts at that stage's first batch (e.g. from a
    checkpoint of the previous stage, ``ckpt_path=...``) and stops at its end.
    """

    n_d: int = 1
    n_g: int = 1
    warmup_batches: int = 0
    # learning rates during the warm-up ({network: lr}); the adversarial phase goes back to the optimizers'
    warmup_lr: dict[str, float] | None = field(default_factory=dict)
    max_batches: int | None = None
    d_loss_threshold: float | None = None
    stages: list[dict] = field(default_factory=list)
    only_stage: str | None = None
    # the family's stage-options dataclass: each stage's ``options`` mapping becomes one (None: no options)
    options_type: InitVar[type | None] = None
    # the optimizers' configured learning rates, which the adversarial phase returns to after warmup_lr
    optimizer_lr: InitVar[dict[str, float] | None] = None

    def __post_init__(self, options_type: type | None, optimizer_lr: dict[str, float] | None) -> None:
        if self.warmup_batches < 0:
            raise ValueError(f"schedule.warmup_batches must be >= 0, got {self.warmup_batches}")
        if self.stages:
            self.phases = [Stage(**stage) for stage in self.stages]
        else:
            self.warmup_lr = self.warmup_lr or {}  # null in a config: none
            back = {name: (optimizer_lr or {})[name] for name in self.warmup_lr}
            warmup = (
                [Stage("warmup", self.warmup_batches, False, lr=self.warmup_lr)]
                if self.warmup_batches
                else []
            )
            self.phases = [
                *warmup,
                Stage("adversarial", None, True, self.n_d, self.n_g, lr=back if warmup else {}),
            ]
        for stage in self.phases:
            stage.options = _typed_options(stage, options_type)
        if any(stage.batches is None for stage in self.phases[:-1]):
            raise ValueError("schedule.stages: only the last stage may leave batches unset")
        if self.max_batches is None and self.phases[-1].batches is not None:
            self.max_batches = sum(stage.batches for stage in self.phases)
        self.first_batch = 0
        if self.only_stage is not None:
            self._restrict_to(self.only_stage)

    def _restrict_to(self, name: str) -> None:
        names = [stage.name for stage in self.phases]
        if name not in names:
            raise ValueError(f"schedule.only_stage={name!r} is not a stage; the stages are {names}")
        index = names.index(name)
        self.first_batch = sum(stage.batches for stage in self.phases[:index])
        if self.phases[index].batches is not None:
            self.max_batches = self.first_batch + self.phases[index].batches

    def phase_at(self, batch_index: int) -> tuple[int, int]:
        """(index of the stage that batch ``batch_index`` belongs to, the batch index where it starts)."""
        start = 0
        for index, stage in enumerate(self.phases):
            if stage.batches is None or batch_index < start + stage.batches or index == len(self.phases) - 1:
                return index, start
            start += stage.batches
        raise AssertionError("unreachable: the last stage takes every remaining batch")


def _typed_options(stage: Stage, options_type: type | None) -> Any:
    """A stage's ``options`` mapping as the family's dataclass; unknown or badly typed keys name the stage."""
    given = stage.options or {}
    if options_type is None:
        if given:
            raise ValueError(f"schedule stage {stage.name!r}: the family takes no stage options; got {given}")
        return None
    try:
        return options_type(**given)
    except (TypeError, ValueError) as err:
        raise ValueError(f"schedule stage {stage.name!r}: options {given} do not fit: {err}") from err


@dataclass
class Counters:
    """Engine state that must survive a checkpoint/resume cycle."""

    batches: int = 0
    d_updates: int = 0
    g_updates: int = 0
    d_skipped: int = 0


class GANTask(L.LightningModule):
    """Manual-optimization GAN base. Optimizer 0 is the generator's, optimizer 1 the discriminator's.

    ``generator``, ``discriminator`` and ``adversarial`` (the objective, conf/loss/) are configs with a
    ``_target_``; ``audio`` is the shared AudioConfig node (None for tasks without audio front-end);
    ``samples_to_log``: how many held-out examples each validation shows. A family's constructor takes its
    own arguments and passes these on as ``**engine``; all of them become the checkpoint's hyperparameters.
    """

    # the family's per-stage switches (a dataclass; see Stage.options), None when it has none
    stage_options: type | None = None
    # the infer.py options this family's inference_module accepts (by name), besides the input
    inference_options: tuple[str, ...] = ()
    # True: G updates on fresh generator outputs (new latents), not on those the D step of the batch scored
    fresh_outputs_for_generator: bool = False

    def __init__(
        self,
        generator: Mapping[str, Any],
        discriminator: Mapping[str, Any],
        adversarial: Mapping[str, Any] | None = None,
        audio: Mapping[str, Any] | None = None,
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
        self.adversarial = instantiate(to_dict(adversarial)) if adversarial else None
        self.audio = AudioConfig.from_config(to_dict(audio)) if audio else None
        self.optim_cfg = to_dict(optim)
        networks = ("generator", "discriminator")
        configured_lr = {name: self.optim_cfg[name].get("lr") for name in networks if name in self.optim_cfg}
        self.schedule = Schedule(
            **to_dict(schedule), options_type=self.stage_options, optimizer_lr=configured_lr
        )
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
        if any(stage.reset_discriminator for stage in self.schedule.phases):
            self._initial_discriminator = copy.deepcopy(self.discriminator.state_dict())

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

    # ----------------------------------------------------------------- what a family offers the commands
    def _unsupported(self, what: str) -> UnsupportedCommand:
        return UnsupportedCommand(f"{type(self).__name__} checkpoints offer no {what}")

    def inference_module(self, **options: Any) -> nn.Module:
        """infer.py: a module from a waveform [T] at its ``sample_rate`` to a waveform [T] (inputs shorter
        than its ``min_samples`` are refused); ``options``: the names in ``inference_options``."""
        raise self._unsupported("audio-to-audio inference (infer.py)")

    def python_api(self, **options: Any) -> Any:
        """``audiogan.load``: the object Python callers use; by default the inference module wrapped to take
        waveforms at any rate (:class:`audiogan.api.AudioModel`). ``options``: as ``inference_module``'s,
        except that ``vocoder`` may be a checkpoint path."""
        from audiogan.api import AudioModel  # the API builds on the tasks: imported when used

        if isinstance(options.get("vocoder"), (str, os.PathLike)):
            from audiogan.checkpoint_loading import load_vocoder

            options["vocoder"] = load_vocoder(options["vocoder"], self.audio, self.device)
        return AudioModel(self.inference_module(**options), self.device)

    def mel_vocoder(self, mel_audio: AudioConfig | None = None) -> nn.Module:
        """A module from mels [B, n_mels, frames] of front-end ``mel_audio`` (default: this family's own) to
        waveforms [B, frames * hop], for commands that render another family's mels (``vocoder_ckpt``)."""
        raise self._unsupported("mel vocoder (vocoder_ckpt)")

    def export_spec(self) -> ExportSpec:
        """infer.py ``export=...``: the module to export and its example input (see audiogan.export)."""
        raise self._unsupported("generator to export")

    def sample(
        self, n: int, seed: int | None = None, griffin_lim_iters: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """sample.py: ``n`` unconditional samples as (spectrograms [n, 1, bins, frames], audio [n, T])."""
        raise self._unsupported("unconditional sampling (sample.py)")

    # ----------------------------------------------------------------- schedule
    def stage_of(self, batch_index: int) -> tuple[Stage, int]:
        index, start = self.schedule.phase_at(batch_index)
        return self.schedule.phases[index], start

    def updates_for(self, batch_index: int) -> tuple[bool, int]:
        """(D updates on this batch?, number of G updates on this batch) for a global batch index.

        The n_d cycle restarts with every stage, so a warm-up or an earlier stage does not shift it.
        """
        stage, start = self.stage_of(batch_index)
        if not stage.adversarial:
            return False, 1
        position = (batch_index - start) % stage.n_d
        return True, stage.n_g if position == stage.n_d - 1 else 0

    def on_stage_start(self, stage: Stage) -> None:
        """Family hook: what else changes when ``stage`` begins (e.g. which parts of G train)."""

    def _enter_stage(self, stage: Stage, fresh: bool) -> None:
        """At a stage's first batch, apply its learning rates and discriminator reset (a run resumed inside
        the stage has them from its checkpoint: the optimizers' state, scheduler progress included)."""
        for name, optimizer in zip(("generator", "discriminator"), self.optimizers(), strict=True):
            if fresh and name in stage.lr:
                for group in optimizer.param_groups:
                    group["lr"] = float(stage.lr[name])
        if fresh and stage.reset_discriminator:
            self.discriminator.load_state_dict(self._initial_discriminator)
            self.optimizers()[1].state.clear()
        self.on_stage_start(stage)

    # ----------------------------------------------------------------- optimizers
    def configure_optimizers(self):
        optimizers, schedulers = [], []
        self._scheduler_specs: list[tuple[str, dict]] = []
        for name, module in (("generator", self.generator), ("discriminator", self.discriminator)):
            if name not in self.optim_cfg:
                raise KeyError(f"model.optim.{name} is missing; expected an optimizer config with _target_")
            optimizer = instantiate(self.optim_cfg[name], params=module.parameters())
            optimizers.append(optimizer)
            spec = self.scheduler_cfg.get(name)
            if spec:
                interval = spec.get("interval", "step")
                if interval not in SCHEDULER_INTERVALS:
                    raise ValueError(
                        f"model.scheduler.{name}.interval={interval!r}; expected one of {SCHEDULER_INTERVALS}"
                    )
                schedulers.append(instantiate(spec["scheduler"], optimizer=optimizer))
                self._scheduler_specs.append((name, spec))
        return optimizers, schedulers

    def _schedulers_by_name(self) -> dict[str, tuple[Any, dict]]:
        configured = self.lr_schedulers()
        if configured is None:
            return {}
        configured = configured if isinstance(configured, list) else [configured]
        return {
            name: (sched, spec) for (name, spec), sched in zip(self._scheduler_specs, configured, strict=True)
        }

    def _step_schedulers(self, interval: str, metrics: Mapping[str, Any] | None = None) -> None:
        for name, (sched, spec) in self._schedulers_by_name().items():
            if spec.get("interval", "step") != interval:
                continue
            if interval.startswith("plateau"):
                monitor = spec.get("monitor")
                if not metrics or monitor not in metrics:
                    raise KeyError(
                        f"model.scheduler.{name}.monitor={monitor!r} was not logged at validation; "
                        f"logged: {sorted(metrics or {})}"
                    )
                sched.step(float(metrics[monitor]))
            else:
                sched.step()

    # ----------------------------------------------------------------- the training step
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

    def on_before_optimizer_step(self, optimizer) -> None:
        """Clip the gradients of the network about to step (``optim.grad_clip.<network>``, by norm). Lightning
        calls this after mixed precision unscaled them, so the norm is the configured one under 16-mixed."""
        network = "generator" if optimizer is self.optimizers()[0].optimizer else "discriminator"
        clip = self.optim_cfg.get("grad_clip", {}).get(network)
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        index = self.counters.batches
        stage, start = self.stage_of(index)
        if stage is not self._stage:
            self._enter_stage(stage, fresh=index == start)
            self._stage = stage
        update_d, g_updates = self.updates_for(index)
        adversarial = stage.adversarial
        logs: dict[str, torch.Tensor | float] = {}

        generated, from_discriminator = None, {}
        fresh = self.fresh_outputs_for_generator
        if update_d:
            with torch.set_grad_enabled(g_updates > 0 and not fresh):
                generated = self.generate(batch)
            self.toggle_optimizer(opt_d)
            d_loss, d_logs, from_discriminator = self.discriminator_loss(batch, generated)
            self._check_finite("discriminator", d_loss)
            logs.update(d_logs)
            threshold = self.schedule.d_loss_threshold
            if threshold is not None and self._all_ranks_mean(d_loss) < threshold:
                self.counters.d_skipped += 1
            else:
                self._update(opt_d, d_loss)
                self.counters.d_updates += 1
            self.untoggle_optimizer(opt_d)

        for k in range(g_updates):
            if generated is None or k > 0 or fresh:
                generated = self.generate(batch)
            self.toggle_optimizer(opt_g)
            g_loss, g_logs = self.generator_loss(batch, generated, adversarial, from_discriminator)
            self._check_finite("generator", g_loss)
            logs.update(g_logs)
            self._update(opt_g, g_loss)
            self.counters.g_updates += 1
            self.untoggle_optimizer(opt_g)

        self.counters.batches += 1
        self._step_schedulers("step")
        batch_size = next(iter(batch.values())).shape[0] if isinstance(batch, Mapping) else None
        logs.update(
            {
                "train/d_updates": float(self.counters.d_updates),
                "train/g_updates": float(self.counters.g_updates),
            }
        )
        self.log_dict(
            {k: (v.detach() if torch.is_tensor(v) else v) for k, v in logs.items()},
            on_step=True,
            on_epoch=False,
            prog_bar=False,
            batch_size=batch_size,
        )
        budget = self.schedule.max_batches
        if budget is not None and self.counters.batches >= budget:
            self.trainer.should_stop = True

    def on_train_epoch_end(self) -> None:
        self._step_schedulers("epoch")
        if self._last_validation is not None:  # epochs without a validation leave plateau schedulers alone
            self._step_schedulers("plateau", self._last_validation)
            self._last_validation = None

    def on_validation_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._last_validation = dict(self.trainer.callback_metrics)
            self._step_schedulers("plateau_validation", self.trainer.callback_metrics)

    # ----------------------------------------------------------------- validation and test
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
        for name, value in scores.items():
            means = self.epoch_means[split]
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

    def elapsed_seconds(self) -> float:
        """Wall-clock seconds this run has trained so far, earlier runs it resumed from included."""
        if self._fit_started is None:
            return self._seconds_before
        return self._seconds_before + time.monotonic() - self._fit_started

    # ----------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["gan_engine"] = {
            "counters": asdict(self.counters),
            "schedule": asdict(self.schedule),
            "seconds": self.elapsed_seconds(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("gan_engine")
        if state is not None:
            self.counters = Counters(**state["counters"])
            self._seconds_before = state.get("seconds", 0.0)

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
        budget = self.schedule.max_batches
        if budget is not None and self.counters.batches >= budget:
            self.trainer.should_stop = True
