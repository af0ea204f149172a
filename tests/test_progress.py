"""The training progress bar counts the engine's budget: position, total, stage and losses on a toy task."""

from __future__ import annotations

import lightning as L
import pytest
from conftest import CONF, quiet_trainer, trained_in_process
from omegaconf import open_dict
from test_engine import CURRICULUM, Batches, ToyTask
from torch.utils.data import DataLoader

from audiogan.callbacks.progress import BudgetProgressBar
from audiogan.commands.train import build_trainer
from audiogan.runs.resolvers import compose_config


class Record(L.Callback):
    """Per training batch: the engine's (batches done, budget), the bar's (position, total), its stage."""

    def __init__(self, bar: BudgetProgressBar):
        self.bar = bar
        self.engine: list[tuple[int, int | None]] = []
        self.shown: list[tuple[int, int | None]] = []
        self.stages: list[str] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        shown = self.bar.train_progress_bar
        self.engine.append((pl_module.counters.batches, pl_module.schedule.max_batches))
        self.shown.append((shown.n, shown.total))
        self.stages.append(shown.desc.removesuffix(": "))  # tqdm adds the colon when the text changes


def fit_with_bar(task, loader_batches: int, ckpt_path=None) -> tuple[BudgetProgressBar, Record]:
    """Train ``task`` on a loader of ``loader_batches`` batches (as many passes as its budget takes)."""
    bar = BudgetProgressBar()
    record = Record(bar)
    loader = DataLoader(Batches(loader_batches), batch_size=1)
    quiet_trainer(enable_progress_bar=True, callbacks=[bar, record]).fit(task, loader, ckpt_path=ckpt_path)
    return bar, record


def test_bar_counts_the_budget_across_loader_passes():
    task = ToyTask(schedule={"max_batches": 7})
    bar, record = fit_with_bar(task, loader_batches=3)  # 3 batches per pass: 2 passes and a third begun
    assert record.shown == record.engine == [(done, 7) for done in range(1, 8)]
    assert set(record.stages) == {"train"}
    line = str(bar.train_progress_bar)
    assert "7/7" in line and "batch/s" in line
    assert "d_loss=" in line and "g_loss=" in line  # the latest losses the task logged


def test_resumed_bar_starts_at_the_checkpoints_batch_count(tmp_path):
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    quiet_trainer(callbacks=[checkpoint], enable_checkpointing=True).fit(
        ToyTask(schedule={"max_batches": 4}), train_dataloaders=DataLoader(Batches(3), batch_size=1)
    )
    bar, record = fit_with_bar(ToyTask(schedule={"max_batches": 10}), 3, ckpt_path=tmp_path / "last.ckpt")
    assert bar.train_progress_bar.initial == 4  # rate and ETA count this run's batches only
    assert record.shown == record.engine == [(done, 10) for done in range(5, 11)]


def test_curriculum_bar_names_the_stage_of_the_next_batch():
    task = ToyTask(schedule={"stages": CURRICULUM})  # pretrain 3, finetune 2, gan 4
    _, record = fit_with_bar(task, loader_batches=4)
    assert record.shown == record.engine == [(done, 9) for done in range(1, 10)]
    assert record.stages == [
        *["pretrain (stage 1/3)"] * 2,
        *["finetune (stage 2/3)"] * 2,
        *["gan (stage 3/3)"] * 5,  # the last batch's stage once the budget is spent
    ]


def test_only_stage_bar_runs_from_the_stages_first_batch_to_its_last():
    task = ToyTask(schedule={"stages": CURRICULUM, "only_stage": "finetune"})
    bar, record = fit_with_bar(task, loader_batches=4)
    assert bar.train_progress_bar.initial == 3
    assert record.shown == record.engine == [(4, 5), (5, 5)]
    assert record.stages == ["finetune (stage 2/3)"] * 2


class LateBudget(ToyTask):
    """Sets its budget when training starts, as voice conversion turns epochs into batches."""

    def on_train_start(self):
        self.schedule.max_batches = 5


def test_bar_takes_a_budget_set_when_training_starts():
    _, record = fit_with_bar(LateBudget(), loader_batches=2)
    assert record.shown == record.engine == [(done, 5) for done in range(1, 6)]


@pytest.mark.parametrize("enabled", [True, False])
def test_trainer_gets_the_budget_bar_only_while_bars_are_enabled(tmp_path, enabled):
    cfg = compose_config(CONF, [f"paths.log_dir={tmp_path}", f"trainer.enable_progress_bar={enabled}"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    trainer = build_trainer(cfg)
    assert isinstance(trainer.progress_bar_callback, BudgetProgressBar) == enabled
    assert (trainer.progress_bar_callback is None) != enabled


@pytest.mark.slow
def test_train_command_shows_the_denoisers_stages_on_its_budget(data_dir, tmp_path, capsys):
    overrides = ["experiment=hifigan_denoise_smoke", "trainer.num_sanity_val_steps=0", "print_config=false"]
    trained_in_process(overrides, data_dir, tmp_path / "run")
    shown = capsys.readouterr().out
    for line in ("wavenet (stage 1/3):  12%", "postnet (stage 2/3):  38%", "adversarial (stage 3/3): 100%"):
        assert line in shown
    assert "8/8 [" in shown and "batch/s" in shown
