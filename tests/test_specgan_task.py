"""SpecGAN as a task: the 5:1 schedule, moments cached and checkpointed, the critic learning, sampling."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import pytest
import soundfile as sf
import torch
from conftest import TINY_SPECGAN, quiet_trainer, run_in_process, trained_in_process
from matplotlib.image import imread
from torch.utils.data import DataLoader

from audiogan.commands.digit_classifier import train_digit_classifier
from audiogan.commands.train import build_datamodule, build_task, run
from audiogan.data.corpora.tiny_speech import TinySpeech
from audiogan.runs.checkpoints import load_task

# four samples and four validation clips (the shared toy config keeps two), and no more generated for metrics
SPECGAN_4 = [*TINY_SPECGAN, "model.task.samples_to_log=4", "model.val_clips=4", "model.task.metric_samples=4"]


@pytest.fixture(scope="module")
def specgan_run(data_dir, tmp_path_factory) -> Path:
    """The run dir of a toy SpecGAN trained by ``train.run`` for 10 batches (two 5:1 cycles) and validated at
    the end with a tiny digit classifier; its frequency moments are cached in ``<run>/../cache``."""
    root = tmp_path_factory.mktemp("specgan")
    classifier = root / "classifier.pt"
    settings = {"channels": 4, "epochs": 1, "batch_size": 8, "max_steps": 2}
    train_digit_classifier(TinySpeech(data_dir, subset="digits"), classifier, device="cpu", **settings)
    overrides = [
        *SPECGAN_4,
        "model.task.schedule.max_batches=10",
        "trainer.val_check_interval=10",
        f"model.task.digit_classifier={classifier}",
        "model.task.metric_samples=12",
        f"paths.cache_dir={root / 'cache'}",
    ]
    return trained_in_process(overrides, data_dir, root / "run")


@pytest.mark.slow
def test_five_to_one_schedule_moments_and_digit_metrics(specgan_run):
    with open(specgan_run / "csv" / "metrics.csv") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["val/fid"]]
    assert 1.0 <= float(row["val/inception_score"]) <= 10.0 and float(row["val/fid"]) >= 0.0
    checkpoint = torch.load(specgan_run / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["gan_engine"]["counters"] == {
        "batches": 10,
        "d_updates": 10,
        "g_updates": 2,
        "d_skipped": 0,
    }
    state = checkpoint["state_dict"]
    assert state["moments.num_frames"] > 0 and state["moments.std"].min() > 0
    assert len(list((specgan_run.parent / "cache").glob("specgan_moments_*.pt"))) == 1
    samples = specgan_run / "samples" / "batch00000010"
    assert imread(samples / "grid_generated.png").ndim == 3  # an image
    audio, rate = sf.read(samples / "sample0_generated.wav")
    assert rate == 16000 and len(audio) == 16384


def test_real_spectrograms_are_128_by_128_in_tanh_range(compose_cfg):
    cfg = compose_cfg(*SPECGAN_4)
    datamodule, task = build_datamodule(cfg), build_task(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    task._set_moments(datamodule.datasets["train"])
    spec = task.real_spectrogram(
        torch.stack([datamodule.datasets["train"][(i, 0)]["audio"] for i in range(3)])
    )
    assert spec.shape == (3, 1, 128, 128)
    assert spec.min() >= -1 and spec.max() <= 1 and spec.std() > 0.1


@pytest.mark.slow
def test_critic_separates_real_from_fake_on_a_fixed_batch(compose_cfg):
    cfg = compose_cfg(
        *SPECGAN_4,
        "model.task.optim.generator.lr=0",
        "model.task.optim.discriminator.lr=1e-3",
        "model.task.schedule.max_batches=25",
    )
    datamodule, task = build_datamodule(cfg), build_task(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    task._set_moments(datamodule.datasets["train"])
    batch = {"audio": torch.stack([datamodule.datasets["train"][(i, 0)]["audio"] for i in range(4)])}
    seen: list[float] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            seen.append(float(trainer.callback_metrics["train/wasserstein"]))

    trainer = quiet_trainer(max_epochs=1, callbacks=[Record()], log_every_n_steps=1)
    trainer.fit(task, train_dataloaders=DataLoader([batch] * 25, batch_size=None))
    assert sum(seen[-5:]) / 5 > sum(seen[:5]) / 5 + 0.5  # the Wasserstein estimate grows as D learns


@pytest.mark.slow
def test_a_run_validated_with_the_digit_classifier_loads_again(specgan_run):
    assert load_task(specgan_run / "checkpoints" / "last.ckpt").moments.is_set


@pytest.mark.slow
def test_sampling_command_writes_wavs_and_grid(compose_cfg, data_dir, tmp_path):
    run(compose_cfg(*SPECGAN_4, "model.task.schedule.max_batches=5", "trainer.val_check_interval=5"))
    out = tmp_path / "samples"
    result = run_in_process(
        "sample.py",
        f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}",
        "n=3",
        "griffin_lim_iters=4",
        f"output_dir={out}",
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    wavs = sorted(out.glob("sample_*.wav"))
    assert len(wavs) == 3 and imread(out / "grid.png").ndim == 3
    for wav in wavs:
        audio, rate = sf.read(wav)
        assert rate == 16000 and len(audio) == 16384 and abs(audio).max() > 0


def test_export_spec_gives_log_magnitudes_in_the_tasks_units(compose_cfg):
    task = build_task(compose_cfg(*TINY_SPECGAN)).eval()
    with torch.no_grad():
        task.moments.mean.normal_()
        task.moments.std.uniform_(0.5, 2.0)
        spec = task.export_spec()
        z = task.generator.sample_latent(3)
        torch.testing.assert_close(spec.module(z), task.moments.denormalize(task.generator(z)))


def test_generator_step_draws_latents_of_its_own(compose_cfg):
    task = build_task(compose_cfg(*TINY_SPECGAN))
    task.moments.compute([0.1 * torch.randn(4, 16384)], task.features)
    latents: list[torch.Tensor] = []
    draw = task.generator.sample_latent

    def recorded(*args, **kwargs):
        latents.append(draw(*args, **kwargs))
        return latents[-1]

    task.generator.sample_latent = recorded
    batch = {"audio": 0.1 * torch.randn(4, 16384)}
    quiet_trainer(max_epochs=1, limit_val_batches=0).fit(task, DataLoader([batch] * 5, batch_size=None))
    assert len(latents) == 6  # one per critic step, and the generator step's own on the fifth batch
    assert not torch.equal(latents[-1], latents[-2])


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, weights_only=True)["state_dict"]


RESUME = [
    "model.task.schedule.max_batches=10",
    "trainer.val_check_interval=5",
    "callbacks.model_checkpoint.save_top_k=-1",  # keeps the checkpoint of batch 5 too
]


def _resumed_equals_straight(straight: Path, resumed: Path) -> None:
    """``straight``: a run dir of 10 batches with checkpoints at 5 and 10; ``resumed``: the run dir of its
    batch-5 checkpoint resumed to 10. Every weight must be identical: the latents and temporal shifts the
    resumed run drew are those the straight run drew."""
    first, last = sorted((straight / "checkpoints").glob("best-*.ckpt"))
    assert torch.load(first, weights_only=True)["gan_engine"]["counters"]["batches"] == 5
    ours, theirs = _weights(resumed / "checkpoints" / "last.ckpt"), _weights(last)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert torch.equal(value, ours[key]), key


@pytest.mark.slow  # trains twice
def test_a_resumed_run_draws_what_the_uninterrupted_run_drew(data_dir, tmp_path):
    straight = trained_in_process([*TINY_SPECGAN, *RESUME], data_dir, tmp_path / "straight")
    first = sorted((straight / "checkpoints").glob("best-*.ckpt"))[0]
    resumed = trained_in_process(
        [*TINY_SPECGAN, *RESUME, f"ckpt_path={first}"], data_dir, tmp_path / "resumed"
    )
    _resumed_equals_straight(straight, resumed)


@pytest.mark.slow  # two 2-process DDP runs
def test_a_resumed_ddp_run_draws_what_the_uninterrupted_run_drew(data_dir, tmp_path):
    """Both runs fork their ranks from this process (``ddp_fork``); train.py's own launcher, which starts
    rank 1 as a process of its own, is tested with MelGAN (test_fault_tolerance)."""
    ddp = [*TINY_SPECGAN, *RESUME, "trainer=ddp_cpu", "trainer.strategy=ddp_fork_find_unused_parameters_true"]
    straight = trained_in_process(ddp, data_dir, tmp_path / "straight")
    first = sorted((straight / "checkpoints").glob("best-*.ckpt"))[0]
    resumed = trained_in_process([*ddp, f"ckpt_path={first}"], data_dir, tmp_path / "resumed")
    _resumed_equals_straight(straight, resumed)
