"""Voice conversion as a task: the 1:2 schedule, the D-skip threshold, the plateau scheduler, cached DTW
pairs, and train.py + convert.py end to end on the embedded parallel corpus."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONF, TINY_VC, quiet_trainer, run_cli, run_in_process
from hydra import compose, initialize_config_dir
from matplotlib.image import imread
from torch.utils.data import DataLoader, Dataset

from audiogan.cli import exit_on_user_error
from audiogan.commands.infer import run
from audiogan.commands.train import build_datamodule, build_task
from audiogan.data.corpora.tiny_speech import TinySpeech
from audiogan.data.parallel import ParallelMels
from audiogan.tasks.voice_conversion import VoiceConversionTask

N_MELS = 80


class RandomPairs(Dataset):
    """Random dB-like mel pairs: enough to drive the schedule without the corpus."""

    def __init__(self, items: int, frames: int = 32):
        gen = torch.Generator().manual_seed(0)
        self.data = [
            {
                "source_mel": -30 + 20 * torch.randn(N_MELS, frames, generator=gen),
                "target_mel": -30 + 20 * torch.randn(N_MELS, frames, generator=gen),
            }
            for _ in range(items)
        ]

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


def _task(compose_cfg, *overrides):
    return build_task(compose_cfg(*TINY_VC, *overrides))


def test_the_objective_smooths_real_labels_as_configured_and_the_task_keeps_the_users_value(compose_cfg):
    assert _task(compose_cfg).gan_loss.real_target == 0.9  # BCE, real label 0.9 by default
    assert _task(compose_cfg, "loss.label_smoothing=0.2").gan_loss.real_target == 0.8
    assert _task(compose_cfg, "loss=bce").gan_loss.real_target == 1.0


@pytest.mark.slow
def test_one_discriminator_then_two_generator_updates_per_batch_and_epochs_budget(compose_cfg):
    # no max_batches: the budget is epochs x batches per epoch (3 items / batch 1 = 3 batches, 2 epochs)
    task = _task(
        compose_cfg,
        "model.task.epochs=2",
        "model.task.schedule.max_batches=null",
        "model.task.schedule.d_loss_threshold=null",
    )
    assert task.gan_loss.real_target == 0.9  # label smoothing 0.1 reaches the BCE objective
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(task, train_dataloaders=DataLoader(RandomPairs(3), batch_size=1))
    assert task.schedule.max_batches == 6
    assert (task.counters.batches, task.counters.d_updates, task.counters.g_updates) == (6, 6, 12)
    assert task.counters.d_skipped == 0
    # the statistics followed the data once per batch (the EMA left the -30 / 20 defaults)
    assert task.stats.source.std.item() != 20.0


@pytest.mark.slow
def test_discriminator_is_skipped_while_its_loss_is_below_the_threshold(compose_cfg):
    # BCE of two logits sums to >= 2 x 0.325 (the smoothed real label's entropy): a threshold of 100 skips all
    task = _task(compose_cfg, "model.task.schedule.max_batches=3", "model.task.schedule.d_loss_threshold=100")
    before = [p.detach().clone() for p in task.discriminator.parameters()]
    quiet_trainer(limit_val_batches=0).fit(task, train_dataloaders=DataLoader(RandomPairs(3), batch_size=1))
    assert (task.counters.d_skipped, task.counters.d_updates, task.counters.g_updates) == (3, 0, 6)
    assert all(torch.equal(a, b) for a, b in zip(before, task.discriminator.parameters(), strict=True))


@pytest.mark.slow
def test_plateau_scheduler_lowers_the_learning_rate_when_val_l1_stalls(compose_cfg):
    task = _task(
        compose_cfg,
        "model.task.schedule.max_batches=6",
        "model.task.scheduler.generator.scheduler.patience=0",
        "model.task.scheduler.discriminator.scheduler.patience=0",
        # an improvement must beat the best val/l1 by 1e9 dB: after the first validation, none does
        "+model.task.scheduler.generator.scheduler.threshold_mode=abs",
        "+model.task.scheduler.generator.scheduler.threshold=1e9",
        "+model.task.scheduler.discriminator.scheduler.threshold_mode=abs",
        "+model.task.scheduler.discriminator.scheduler.threshold=1e9",
        "model.task.samples_to_log=0",
    )
    trainer = quiet_trainer(val_check_interval=2, check_val_every_n_epoch=None)
    trainer.fit(
        task,
        train_dataloaders=DataLoader(RandomPairs(6), batch_size=2),
        val_dataloaders=DataLoader(RandomPairs(1, frames=24), batch_size=1),
    )
    # 3 batches per epoch, 2 epochs; validation after batches 2, 4, 6. Patience counts epochs (the
    # specification's "5 epochs without improvement"): epoch 1 sets the best val/l1, epoch 2 brings no
    # improvement -> one reduction by 0.7 with patience 0, for both networks
    assert {"val/l1", "val/mcd", "val/mcd_source"} <= set(trainer.callback_metrics)
    for optimizer in trainer.optimizers:
        assert abs(optimizer.param_groups[0]["lr"] - 1e-4 * 0.7) < 1e-12


def test_dtw_pairs_are_built_once_and_then_read_from_the_cache(compose_cfg, data_dir, tmp_path):
    cfg = compose_cfg("model=voice_conversion", "data=tiny_speech_parallel")
    utterances = TinySpeech(data_dir, subset="sentences").utterances("val")

    def build():
        return ParallelMels(
            utterances, 22050, cfg.audio, "us_m3", "us_f2", max_pairs=2, cache_dir=str(tmp_path / "cache")
        )

    first = build()
    assert (first.cache_misses, first.cache_hits) == (2, 0)
    second = build()
    assert (second.cache_misses, second.cache_hits) == (0, 2)
    for (s1, t1), (s2, t2) in zip(first.pairs, second.pairs, strict=True):
        assert torch.equal(s1, s2) and torch.equal(t1, t2)
        assert s1.shape == t1.shape and s1.shape[0] == N_MELS  # aligned to the target's timing
        assert t1.min() >= -80.0 - 1e-3  # dB with the -80 dB floor
    whole = second[0]
    assert whole["source_mel"].shape == whole["target_mel"].shape == second.pairs[0][1].shape
    cropped = ParallelMels(
        utterances, 22050, cfg.audio, "us_m3", "us_f2", segment_frames=16, cache_dir=str(tmp_path / "cache")
    )[0]
    assert cropped["source_mel"].shape == cropped["target_mel"].shape == (N_MELS, 16)


def test_datamodule_serves_aligned_crops(compose_cfg):
    cfg = compose_cfg(*TINY_VC)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["source_mel"].shape == batch["target_mel"].shape == (2, N_MELS, 32)
    assert len(datamodule.datasets["val"]) == 1


@pytest.fixture(scope="module")
def vc_run(smoke_run) -> Path:
    """The run dir of a tiny voice-conversion model trained for two batches through train.py."""
    return smoke_run("voice_conversion")


@pytest.fixture(scope="module")
def source_files(data_dir, tmp_path_factory) -> tuple[Path, list[Path]]:
    """A folder with two of the source speaker's test sentences (one nested) and the originals."""
    inputs = tmp_path_factory.mktemp("inputs")
    (inputs / "nested").mkdir()
    test_split = TinySpeech(data_dir, subset="sentences").utterances("test")
    source = [u.path for u in test_split if u.speaker == "us_m3"]
    sf.write(inputs / "a.wav", sf.read(source[0])[0], 22050)
    sf.write(inputs / "nested" / "b.wav", sf.read(source[1])[0], 22050)
    return inputs, source[:2]


@pytest.mark.slow
def test_training_logs_converted_target_and_source_samples(vc_run):
    (samples,) = vc_run.glob("samples/batch*")  # the one validation, after batch 2
    clips = {name: sf.read(samples / f"pair0_{name}.wav") for name in ("converted", "target", "source")}
    # all three rendered at the model's rate from mels on the target's timing (the source DTW-aligned to it)
    assert {rate for _, rate in clips.values()} == {22050}
    assert len({len(audio) for audio, _ in clips.values()}) == 1
    assert all(np.abs(audio).max() > 0.01 for audio, _ in clips.values())
    assert imread(samples / "pair0_spectrograms.png").ndim == 3  # target, converted, source stacked


@pytest.mark.slow
@pytest.mark.parametrize("vocoder", ["griffin_lim", "melgan"])
def test_convert_command_converts_a_folder(vc_run, source_files, melgan_ckpt, data_dir, tmp_path, vocoder):
    inputs, originals = source_files
    out = tmp_path / "converted"
    rendering = ["griffin_lim_iters=4"] if vocoder == "griffin_lim" else [f"vocoder_ckpt={melgan_ckpt}"]
    # convert.py in a process of its own once; the other case runs its Hydra app in this process
    launch = run_cli if vocoder == "griffin_lim" else run_in_process
    result = launch(
        "convert.py",
        f"ckpt_path={vc_run / 'checkpoints' / 'last.ckpt'}",
        f"input={inputs}",
        f"output_dir={out}",
        "device=cpu",
        *rendering,
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert written == ["a.wav", "nested/b.wav"]
    for name, original in zip(written, originals, strict=True):
        audio, rate = sf.read(out / name)
        assert rate == 22050 and len(audio) == sf.info(str(original)).frames
        assert np.isfinite(audio).all() and abs(audio).max() > 0


def _convert_error(caplog, tmp_path, ckpt: Path, inputs: Path, *overrides: str, task_type=None) -> str:
    """The one logged line a refused conversion exits with (status 1)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        paths = [f"ckpt_path={ckpt}", f"input={inputs}", f"output_dir={tmp_path}"]
        cfg = compose("convert", [*paths, *overrides])
    caplog.clear()
    with pytest.raises(SystemExit) as exit_info:
        exit_on_user_error(run)(cfg, command="convert", task_type=task_type)
    assert exit_info.value.code == 1
    return caplog.text


@pytest.mark.slow
def test_convert_refuses_other_checkpoints_by_name(vc_run, source_files, melgan_ckpt, tmp_path, caplog):
    inputs, _ = source_files
    text = _convert_error(caplog, tmp_path, melgan_ckpt, inputs, task_type=VoiceConversionTask)
    assert f"{melgan_ckpt} is a MelGANTask checkpoint; convert.py needs a VoiceConversionTask one" in text
    vc_ckpt = vc_run / "checkpoints" / "last.ckpt"
    text = _convert_error(caplog, tmp_path, vc_ckpt, inputs, f"vocoder_ckpt={vc_ckpt}")
    assert f"vocoder_ckpt={vc_ckpt}: VoiceConversionTask checkpoints offer no mel vocoder" in text
    text = _convert_error(caplog, tmp_path, melgan_ckpt, inputs, "griffin_lim_iters=4")
    assert f"griffin_lim_iters do not apply to {melgan_ckpt}, a MelGANTask checkpoint" in text
    text = _convert_error(caplog, tmp_path, vc_ckpt, inputs, "griffin_lim_iters=0")
    assert "griffin_lim_iters must be >= 1, got 0" in text
    assert not list(tmp_path.rglob("*.wav"))


def test_d_loss_threshold_skips_a_discriminator_that_separates_and_updates_one_that_does_not(compose_cfg):
    objective = _task(compose_cfg).gan_loss  # BCE, real label 0.9, (L_real + L_fake) / 2
    threshold = compose_cfg(*TINY_VC).model.task.schedule.d_loss_threshold
    separating = objective.discriminator([torch.full((4,), math.log(9.0))], [torch.full((4,), -8.0)])
    at_chance = objective.discriminator([torch.zeros(4)], [torch.zeros(4)])
    assert separating < threshold < at_chance  # 0.163 < 0.3 < 0.693: the threshold can fire
