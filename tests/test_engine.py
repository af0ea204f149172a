"""The GAN engine's schedule on a toy task: ratios, warm-up, D skipping, clipping, schedulers, NaN."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from conftest import quiet_trainer
from lightning.pytorch.plugins.precision import MixedPrecision
from torch.utils.data import DataLoader, Dataset

from audiogan.errors import NonFiniteLossError
from audiogan.tasks.base import GANTask
from audiogan.utils.atomic_checkpoint import AtomicCheckpointIO

SGD = {"_target_": "torch.optim.SGD", "lr": 0.1}


class Batches(Dataset):
    """Item i is a 4-vector filled with i, so a task can tell which batch it saw."""

    def __init__(self, n: int, offset: float = 0.0):
        self.n = n
        self.offset = offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": torch.full((4,), float(i) + self.offset)}


class ToyTask(GANTask):
    """Linear G and D; records which batch each update used; optional NaN at one batch."""

    def __init__(
        self,
        schedule=None,
        optim=None,
        scheduler=None,
        nan_at: int | None = None,
        d_loss: float | None = None,
    ):
        torch.manual_seed(0)
        super().__init__(
            generator={"_target_": "torch.nn.Linear", "in_features": 4, "out_features": 4},
            discriminator={"_target_": "torch.nn.Linear", "in_features": 4, "out_features": 1},
            schedule=schedule,
            optim=optim or {"generator": SGD, "discriminator": SGD},
            scheduler=scheduler,
        )
        self.nan_at = nan_at
        self.fixed_d_loss = d_loss
        self.d_batches: list[int] = []
        self.g_batches: list[int] = []
        self.g_adversarial: list[bool] = []
        self.stages_started: list[str] = []
        self.handed_over: list[int | None] = []

    def on_stage_start(self, stage):
        self.stages_started.append(stage.name)

    def generate(self, batch):
        return {"fake": self.generator(batch["x"])}

    def discriminator_loss(self, batch, generated):
        self.d_batches.append(int(batch["x"][0, 0]))
        loss = self.discriminator(generated["fake"].detach()).mean() - self.discriminator(batch["x"]).mean()
        if self.fixed_d_loss is not None:
            loss = loss * 0 + self.fixed_d_loss
        if self.nan_at == self.counters.batches:
            loss = loss * float("nan")
        return loss, {"train/d_loss": loss}, {"d_batch": int(batch["x"][0, 0])}

    def generator_loss(self, batch, generated, adversarial, from_discriminator):
        self.g_batches.append(int(batch["x"][0, 0]))
        self.g_adversarial.append(adversarial)
        self.handed_over.append(from_discriminator.get("d_batch"))
        loss = generated["fake"].pow(2).mean()
        if adversarial:
            loss = loss - self.discriminator(generated["fake"]).mean()
        return loss, {"train/g_loss": loss}

    def evaluate(self, batch, batch_idx):
        return {"metric": torch.tensor(1.0)}, None


def fit(task: GANTask, batches: int = 10, epochs: int = -1, ckpt_path=None, offset: float = 0.0) -> L.Trainer:
    loader = DataLoader(Batches(batches, offset), batch_size=1, shuffle=False)
    trainer = quiet_trainer(max_epochs=epochs)
    trainer.fit(task, train_dataloaders=loader, ckpt_path=ckpt_path)
    return trainer


@pytest.mark.parametrize(
    ("n_d", "n_g", "d_updates", "g_updates"),
    [(1, 1, 10, 10), (2, 1, 10, 5), (5, 1, 10, 2), (1, 2, 10, 20)],
)
def test_ratio_counts_updates(n_d, n_g, d_updates, g_updates):
    task = ToyTask(schedule={"n_d": n_d, "n_g": n_g, "max_batches": 10})
    fit(task)
    assert task.counters.batches == 10
    assert (task.counters.d_updates, task.counters.g_updates) == (d_updates, g_updates)
    assert len(task.d_batches) == d_updates and len(task.g_batches) == g_updates


def test_five_to_one_uses_fresh_batches_and_generator_on_the_fifth():
    task = ToyTask(schedule={"n_d": 5, "n_g": 1, "max_batches": 10})
    fit(task)
    assert task.d_batches == list(range(10))  # each D update on its own batch
    assert task.g_batches == [4, 9]  # G on the last batch of each cycle


def test_one_to_two_updates_generator_twice_on_the_same_batch():
    task = ToyTask(schedule={"n_d": 1, "n_g": 2, "max_batches": 3})
    fit(task)
    assert task.g_batches == [0, 0, 1, 1, 2, 2]
    assert task.handed_over == [0, 0, 1, 1, 2, 2]  # both G updates get what D handed over on their batch


def test_generator_gets_what_the_discriminator_step_of_its_batch_handed_over():
    task = ToyTask(schedule={"n_d": 2, "n_g": 1, "warmup_batches": 2, "max_batches": 6})
    fit(task, batches=6)
    assert task.g_batches == [0, 1, 3, 5]
    assert task.handed_over == [None, None, 3, 5]  # nothing in warm-up, then the D step of the same batch


def test_warmup_is_generator_only_then_cycle_starts():
    task = ToyTask(schedule={"n_d": 5, "n_g": 1, "warmup_batches": 3, "max_batches": 13})
    fit(task, batches=13)
    assert task.g_batches[:3] == [0, 1, 2] and task.g_adversarial[:3] == [False] * 3
    assert task.d_batches == list(range(3, 13))
    assert task.g_batches[3:] == [7, 12] and all(task.g_adversarial[3:])


def test_warmup_learning_rate_then_the_optimizers_own():
    lrs = []

    class Recorded(ToyTask):
        def generator_loss(self, batch, generated, adversarial, from_discriminator):
            lrs.append(self.optimizers()[0].param_groups[0]["lr"])
            return super().generator_loss(batch, generated, adversarial, from_discriminator)

    fit(Recorded(schedule={"warmup_batches": 2, "warmup_lr": {"generator": 0.5}, "max_batches": 4}))
    assert lrs == [0.5, 0.5, 0.1, 0.1]  # SGD's configured 0.1 once the adversarial phase begins


def test_budget_counts_batches_across_epochs():
    task = ToyTask(schedule={"n_d": 1, "n_g": 2, "max_batches": 7})
    trainer = fit(task, batches=3)
    assert task.counters.batches == 7
    assert task.g_batches == [0, 0, 1, 1, 2, 2] * 2 + [0, 0]  # stopped one batch into the third epoch
    assert trainer.global_step == 7 + 14  # Lightning counts optimizer steps, not batches


def test_discriminator_skipped_below_threshold():
    task = ToyTask(schedule={"max_batches": 6, "d_loss_threshold": 0.3}, d_loss=0.1)
    before = [p.detach().clone() for p in task.discriminator.parameters()]
    fit(task)
    assert task.counters.d_skipped == 6 and task.counters.d_updates == 0
    assert all(torch.equal(a, b) for a, b in zip(before, task.discriminator.parameters(), strict=True))
    kept = ToyTask(schedule={"max_batches": 6, "d_loss_threshold": 0.3}, d_loss=0.5)
    fit(kept)
    assert kept.counters.d_skipped == 0 and kept.counters.d_updates == 6


def test_gradient_clipping_bounds_the_generator_step():
    optim = {"generator": {**SGD, "lr": 1.0}, "discriminator": SGD, "grad_clip": {"generator": 1e-3}}
    task = ToyTask(schedule={"max_batches": 1}, optim=optim)
    before = torch.cat([p.detach().flatten().clone() for p in task.generator.parameters()])
    fit(task, offset=100.0)  # large inputs give large gradients
    after = torch.cat([p.detach().flatten() for p in task.generator.parameters()])
    assert 0 < (after - before).norm() <= 1e-3 + 1e-7


def _step_lr(interval: str) -> dict:
    sched = {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1, "gamma": 0.5}
    return {"generator": {"scheduler": sched, "interval": interval}}


def test_scheduler_per_step_and_per_epoch():
    per_step = ToyTask(schedule={"max_batches": 4}, scheduler=_step_lr("step"))
    fit(per_step)
    assert per_step.optimizers()[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**4)
    per_epoch = ToyTask(schedule={"max_batches": 6}, scheduler=_step_lr("epoch"))
    fit(per_epoch, batches=3)
    assert per_epoch.optimizers()[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**2)


def _plateau(interval: str) -> dict:
    return {
        "scheduler": {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "factor": 0.5, "patience": 0},
        "interval": interval,
        "monitor": "val/metric",
    }


def test_plateau_scheduler_counts_epochs_and_plateau_validation_counts_validations():
    # 3 epochs of 4 batches, a validation every 2 batches (6 in all) with a constant metric: the first sets
    # the best, then each further epoch (or validation) without improvement halves the lr
    for interval, reductions in (("plateau", 2), ("plateau_validation", 5)):
        task = ToyTask(schedule={"max_batches": 12}, scheduler={"generator": _plateau(interval)})
        trainer = quiet_trainer(val_check_interval=2, check_val_every_n_epoch=None)
        val = DataLoader(Batches(2), batch_size=1)
        trainer.fit(task, train_dataloaders=DataLoader(Batches(4), batch_size=1), val_dataloaders=val)
        assert task.optimizers()[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**reductions), interval


def _fp16_scaled_trainer() -> L.Trainer:
    # precision="16-mixed" alone turns into bf16 on a CPU: the fp16 plugin with a loss scaler, as on a GPU
    scaled = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=2.0**8))
    return quiet_trainer(plugins=[scaled])


def test_gradient_clipping_acts_on_unscaled_gradients_under_fp16_mixed_precision():
    clip = 0.5
    optim = {"generator": {**SGD, "lr": 1.0}, "discriminator": SGD, "grad_clip": {"generator": clip}}

    class Recorded(ToyTask):
        def on_before_optimizer_step(self, optimizer):
            super().on_before_optimizer_step(optimizer)  # unscaled by the precision plugin, then clipped
            if optimizer is self.optimizers()[0].optimizer:
                grads = [p.grad.float().flatten() for p in self.generator.parameters() if p.grad is not None]
                self.norms.append(float(torch.cat(grads).norm()))

    task = Recorded(schedule={"max_batches": 2}, optim=optim)
    task.norms = []
    loader = DataLoader(Batches(2, offset=10.0), batch_size=1)  # large inputs give large gradients
    _fp16_scaled_trainer().fit(task, train_dataloaders=loader)
    assert task.norms and all(norm == pytest.approx(clip, rel=1e-3) for norm in task.norms)


@pytest.mark.parametrize("precision", ["16-mixed", "bf16-mixed"])
def test_a_fused_optimizer_is_clipped_on_the_same_gradients_as_any_other(precision):
    # a fused optimizer unscales inside its step (Lightning leaves its gradients scaled): the engine unscales
    # them before clipping, so the norm it clips (logged before clipping) is the one plain SGD sees
    norms = {}
    for name, optimizer in (
        ("sgd", SGD),
        ("fused", {"_target_": "torch.optim.AdamW", "lr": 0.1, "fused": True}),
    ):
        optim = {"generator": optimizer, "discriminator": SGD, "grad_clip": {"generator": 1e-3}}
        task = ToyTask(schedule={"max_batches": 1}, optim=optim)
        trainer = _fp16_scaled_trainer() if precision == "16-mixed" else quiet_trainer(precision=precision)
        trainer.fit(task, train_dataloaders=DataLoader(Batches(1, offset=10.0), batch_size=1))
        norms[name] = float(trainer.callback_metrics["train/grad_norm_generator"])
    assert norms["sgd"] > 1e-3
    assert norms["fused"] == pytest.approx(norms["sgd"], rel=1e-3)


def test_fresh_outputs_for_generator_regenerate_before_the_generator_step():
    calls = []

    class Fresh(ToyTask):
        fresh_outputs_for_generator = True

        def generate(self, batch):
            calls.append(int(batch["x"][0, 0]))
            return super().generate(batch)

    fit(Fresh(schedule={"n_d": 2, "max_batches": 4}))
    assert calls == [0, 1, 1, 2, 3, 3]  # one generation per D step, a new one for G on batches 1 and 3


def test_nan_loss_stops_with_step_named_and_checkpoint_intact(tmp_path):
    task = ToyTask(schedule={"max_batches": 10}, nan_at=5)
    # global_step counts both optimizers' steps, so this saves after every batch
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=2, save_last=True)
    loader = DataLoader(Batches(10), batch_size=1)
    trainer = quiet_trainer(
        max_epochs=1, callbacks=[checkpoint], enable_checkpointing=True, plugins=[AtomicCheckpointIO()]
    )
    with pytest.raises(NonFiniteLossError, match=r"discriminator loss is nan .* at batch 5"):
        trainer.fit(task, train_dataloaders=loader)
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["gan_engine"]["counters"]["batches"] == 5  # the last batch before the NaN
    assert not list(tmp_path.glob("*.tmp"))


def test_counters_survive_checkpoint_and_resume(tmp_path):
    first = ToyTask(schedule={"n_d": 5, "max_batches": 6})
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = quiet_trainer(callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(first, train_dataloaders=DataLoader(Batches(3), batch_size=1))
    resumed = ToyTask(schedule={"n_d": 5, "max_batches": 12})
    fit(resumed, batches=3, ckpt_path=tmp_path / "last.ckpt")
    assert resumed.counters.batches == 12
    # the 5:1 phase carried over: G ran on batches 4 and 9 of the whole run, i.e. 9 after the resume
    assert resumed.counters.g_updates == 2 and resumed.counters.d_updates == 12


def test_validations_log_the_batch_count_and_the_seconds_trained_which_carry_over_a_resume(tmp_path):
    class Logged(ToyTask):
        def on_validation_end(self):
            super().on_validation_end()
            metrics = self.trainer.callback_metrics
            self.progress.append((float(metrics["progress/batches"]), float(metrics["progress/seconds"])))

    first = Logged(schedule={"max_batches": 4})
    first.progress = []
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = quiet_trainer(callbacks=[checkpoint], enable_checkpointing=True, val_check_interval=2)
    val = DataLoader(Batches(1), batch_size=1)
    trainer.fit(first, train_dataloaders=DataLoader(Batches(4), batch_size=1), val_dataloaders=val)
    assert [batches for batches, _ in first.progress] == [2.0, 4.0]
    assert 0 < first.progress[0][1] < first.progress[1][1]
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)["gan_engine"]["seconds"]
    assert saved >= first.progress[1][1]

    resumed = Logged(schedule={"max_batches": 6})
    resumed.progress = []
    trainer = quiet_trainer(val_check_interval=2)
    trainer.fit(
        resumed, train_dataloaders=DataLoader(Batches(4), batch_size=1), val_dataloaders=val,
        ckpt_path=tmp_path / "last.ckpt",
    )  # fmt: skip
    (batches, seconds), *_ = resumed.progress
    assert batches == 6.0 and seconds > saved  # the clock goes on from the checkpoint's


CURRICULUM = [
    {"name": "pretrain", "batches": 3, "adversarial": False, "lr": {"generator": 0.5}},
    {"name": "finetune", "batches": 2, "adversarial": False, "lr": {"generator": 0.05}},
    {
        "name": "gan",
        "batches": 4,
        "n_d": 2,
        "lr": {"generator": 0.01, "discriminator": 0.2},
        "reset_discriminator": True,
    },
]


def test_curriculum_runs_its_stages_with_their_ratio_and_learning_rates():
    task = ToyTask(schedule={"stages": CURRICULUM})
    initial_d = {k: v.clone() for k, v in task.discriminator.state_dict().items()}
    fit(task)
    assert task.schedule.max_batches == 9 and task.counters.batches == 9
    assert task.stages_started == ["pretrain", "finetune", "gan"]
    assert task.g_adversarial == [False] * 5 + [True, True]
    assert task.d_batches == [5, 6, 7, 8] and task.g_batches == [0, 1, 2, 3, 4, 6, 8]  # 2:1 in the last stage
    opt_g, opt_d = task.optimizers()
    assert opt_g.param_groups[0]["lr"] == 0.01 and opt_d.param_groups[0]["lr"] == 0.2
    assert any(not torch.equal(initial_d[k], v) for k, v in task.discriminator.state_dict().items())


def test_discriminator_restarts_from_its_initial_weights_when_its_stage_begins():
    stages = [
        {"name": "gan1", "batches": 2},
        {"name": "gan2", "batches": 1, "reset_discriminator": True, "lr": {"discriminator": 0.0}},
    ]
    task = ToyTask(schedule={"stages": stages})
    initial_d = {k: v.clone() for k, v in task.discriminator.state_dict().items()}
    fit(task)
    # trained in gan1, reset at gan2's first batch, then a zero-lr step: back to the initial weights
    assert all(torch.equal(initial_d[k], v) for k, v in task.discriminator.state_dict().items())
    assert task.counters.d_updates == 3


def test_resume_inside_a_stage_reapplies_its_settings(tmp_path):
    first = ToyTask(schedule={"stages": CURRICULUM, "max_batches": 7})
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = quiet_trainer(callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(first, train_dataloaders=DataLoader(Batches(7), batch_size=1))
    resumed = ToyTask(schedule={"stages": CURRICULUM})
    fit(resumed, batches=7, ckpt_path=tmp_path / "last.ckpt")
    assert resumed.stages_started == ["gan"] and resumed.counters.batches == 9
    assert resumed.optimizers()[1].param_groups[0]["lr"] == 0.2
    assert resumed.counters.d_updates == 4 and resumed.counters.g_updates == 7
