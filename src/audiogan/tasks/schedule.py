"""Who updates when: the curriculum of stages, the D:G ratio within each, and the counters that survive a
resume. Pure Python (no torch, no Lightning), so the arithmetic is tested on its own.

* ``n_d:n_g`` -- n_d discriminator updates, each on a fresh batch, then n_g generator updates on the last of
  those batches (5:1 = five batches of D, the fifth also G; 1:2 = every batch one D update then two G
  updates). The n_d cycle restarts with every stage, so a warm-up or an earlier stage does not shift it.
* generator-only warm-up batches before the adversarial stage, or a whole curriculum of stages
  (``schedule.stages``: length, adversarial or not, ratio, learning rates, D reset), run by one command;
* a training budget counted in batches (Lightning's ``global_step`` counts optimizer steps, which vary with
  the ratio and with skipped updates).
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any


@dataclass
class Stage:
    """One stage of a curriculum: its length, whether D trains, its D:G ratio, its learning rates.

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
    """The model config's ``schedule`` node, as a list of :class:`Stage` (``stages``).

    Either one adversarial stage at ``n_d:n_g`` after ``warmup_batches`` generator-only batches, or an
    explicit list of ``stages`` (mappings, built into Stages); ``max_batches`` defaults to their sum.
    ``only_stage`` names one stage to run alone: training starts at that stage's first batch (e.g. from a
    checkpoint of the previous stage, ``ckpt_path=...``) and stops at its end.
    """

    n_d: int = 1
    n_g: int = 1
    warmup_batches: int = 0
    # learning rates during the warm-up ({network: lr}); the adversarial stage goes back to the optimizers'
    warmup_lr: dict[str, float] | None = field(default_factory=dict)
    max_batches: int | None = None
    d_loss_threshold: float | None = None
    stages: list[Any] = field(default_factory=list)
    only_stage: str | None = None
    # the family's stage-options dataclass: each stage's ``options`` mapping becomes one (None: no options)
    options_type: InitVar[type | None] = None
    # the optimizers' configured learning rates, which the adversarial stage returns to after warmup_lr
    optimizer_lr: InitVar[dict[str, float] | None] = None

    def __post_init__(self, options_type: type | None, optimizer_lr: dict[str, float] | None) -> None:
        if self.warmup_batches < 0:
            raise ValueError(f"schedule.warmup_batches must be >= 0, got {self.warmup_batches}")
        if self.stages:
            self.stages = [stage if isinstance(stage, Stage) else Stage(**stage) for stage in self.stages]
        else:
            self.stages = self._warmup_then_adversarial(optimizer_lr or {})
        for stage in self.stages:
            stage.options = _typed_options(stage, options_type)
        if any(stage.batches is None for stage in self.stages[:-1]):
            raise ValueError("schedule.stages: only the last stage may leave batches unset")
        if self.max_batches is None and self.stages[-1].batches is not None:
            self.max_batches = sum(stage.batches for stage in self.stages)
        self.first_batch = 0
        if self.only_stage is not None:
            self._restrict_to(self.only_stage)

    def _warmup_then_adversarial(self, optimizer_lr: dict[str, float]) -> list[Stage]:
        self.warmup_lr = self.warmup_lr or {}  # null in a config: none
        if not self.warmup_batches:
            return [Stage("adversarial", None, True, self.n_d, self.n_g)]
        back = {name: optimizer_lr[name] for name in self.warmup_lr}
        return [
            Stage("warmup", self.warmup_batches, False, lr=self.warmup_lr),
            Stage("adversarial", None, True, self.n_d, self.n_g, lr=back),
        ]

    def _restrict_to(self, name: str) -> None:
        names = [stage.name for stage in self.stages]
        if name not in names:
            raise ValueError(f"schedule.only_stage={name!r} is not a stage; the stages are {names}")
        index = names.index(name)
        self.first_batch = sum(stage.batches for stage in self.stages[:index])
        if self.stages[index].batches is not None:
            self.max_batches = self.first_batch + self.stages[index].batches

    def stage_at(self, batch_index: int) -> tuple[int, int]:
        """(index of the stage that batch ``batch_index`` belongs to, the batch index where it starts)."""
        start = 0
        for index, stage in enumerate(self.stages):
            if stage.batches is None or batch_index < start + stage.batches or index == len(self.stages) - 1:
                return index, start
            start += stage.batches
        raise AssertionError("unreachable: the last stage takes every remaining batch")

    def updates_for(self, batch_index: int) -> tuple[bool, int]:
        """(D updates on this batch?, number of G updates on this batch) for a global batch index."""
        index, start = self.stage_at(batch_index)
        stage = self.stages[index]
        if not stage.adversarial:
            return False, 1
        position = (batch_index - start) % stage.n_d
        return True, stage.n_g if position == stage.n_d - 1 else 0

    def counters_after(self, batches: int) -> Counters:
        """The counters of a run that has trained ``batches`` batches of this schedule, none skipped (e.g. one
        imported from another project, which counts batches only)."""
        counters, start = Counters(batches=batches), 0
        for stage in self.stages:
            trained = max(
                0, batches - start if stage.batches is None else min(stage.batches, batches - start)
            )
            if stage.adversarial:
                counters.d_updates += trained
                counters.g_updates += trained // stage.n_d * stage.n_g
            else:
                counters.g_updates += trained
            start += stage.batches or 0
        return counters

    def finished(self, batches: int) -> bool:
        """Whether ``batches`` trained batches have used up the budget (never, without one)."""
        return self.max_batches is not None and batches >= self.max_batches


def _typed_options(stage: Stage, options_type: type | None) -> Any:
    """A stage's ``options`` mapping as the family's dataclass; unknown or badly typed keys name the stage."""
    given = stage.options or {}
    if options_type is None:
        if given:
            raise ValueError(f"schedule stage {stage.name!r}: the family takes no stage options; got {given}")
        return None
    if isinstance(given, options_type):
        return given
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
