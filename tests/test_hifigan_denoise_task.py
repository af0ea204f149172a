"""The denoiser task: what trains in each stage, the 2:1 phase, one stage alone, chunked inference, CLI."""

from __future__ import annotations

import csv
import json

import lightning as L
import pytest
import soundfile as sf
import torch
from conftest import TINY_DENOISE, generator_on_meta, quiet_trainer, run_in_process, trained_in_process
from omegaconf import OmegaConf

from audiogan.commands.train import build_datamodule, build_task
from audiogan.models.layers import joint_pass
from audiogan.runs.checkpoints import load_task
from audiogan.utils.atomic_checkpoint import AtomicCheckpointIO


def trainable(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build(compose_cfg, *overrides: str):
    cfg = compose_cfg(*TINY_DENOISE, *overrides)
    OmegaConf.resolve(cfg)
    return build_task(cfg), build_datamodule(cfg)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[name], p) for name, p in module.named_parameters())


class StageSnapshots(L.Callback):
    """Weights of the generator's parts and of D at the start and after every batch."""

    def __init__(self):
        self.states: list[dict[str, dict[str, torch.Tensor]]] = []

    def _take(self, task) -> None:
        parts = {
            "wavenet": task.generator.wavenet,
            "postnet": task.generator.postnet,
            "d": task.discriminator,
        }
        self.states.append({name: snapshot(module) for name, module in parts.items()})

    def on_train_start(self, trainer, task):
        self._take(task)

    def on_train_batch_end(self, trainer, task, *args):
        self._take(task)


@pytest.mark.slow
def test_full_size_parameters_that_train_in_each_stage(compose_cfg):
    task = build_task(generator_on_meta(compose_cfg("model=hifigan_denoise", "data=tiny_speech_noisy")))
    assert trainable(task.discriminator) == 3 * 5_641_362 + 150_209
    expected = {
        "wavenet": (4_977_281, False),
        "postnet": (10_229_762, True),
        "adversarial": (10_229_762, True),
    }
    assert [stage.name for stage in task.schedule.stages] == list(expected)
    for stage in task.schedule.stages:
        task.on_stage_start(stage)
        assert (trainable(task.generator), task.generator.use_postnet) == expected[stage.name], stage.name
    adversarial = task.schedule.stages[-1]
    assert (adversarial.n_d, adversarial.n_g, adversarial.reset_discriminator) == (2, 1, True)
    assert [stage.batches for stage in task.schedule.stages] == [70_000, 50_000, 170_000]


@pytest.mark.slow
def test_three_stages_train_their_parts_and_the_last_one_updates_d_twice_per_g(compose_cfg):
    task, data = build(compose_cfg)
    snapshots = StageSnapshots()
    quiet_trainer(limit_val_batches=0, callbacks=[snapshots]).fit(task, datamodule=data)
    states = snapshots.states  # index k = after k batches; stages cover batches [0, 2), [2, 4), [4, 8)
    assert len(states) == 9
    parts = {"wavenet": task.generator.wavenet, "postnet": task.generator.postnet, "d": task.discriminator}

    def moved(start: int, end: int) -> set[str]:
        return {
            name
            for name in parts
            if any(not torch.equal(states[start][name][k], v) for k, v in states[end][name].items())
        }

    assert moved(0, 2) == {"wavenet"}
    assert moved(2, 4) == {"wavenet", "postnet"}
    assert moved(4, 8) == {"wavenet", "postnet", "d"}
    # 2:1 in stage 3: D on each of its 4 batches, G on every second one; stages 1-2 are G only
    assert (task.counters.d_updates, task.counters.g_updates) == (4, 2 + 2 + 2)
    opt_g, opt_d = task.optimizers()
    assert (opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]) == (1e-5, 1e-3)


@pytest.mark.slow
def test_stage_one_losses_fall_on_a_fixed_batch(compose_cfg):
    torch.manual_seed(0)
    task, data = build(compose_cfg)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    optimizer = torch.optim.Adam(task.generator.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, logs = task.generator_loss(batch, task.generate(batch), False, from_discriminator={})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append({name: float(value) for name, value in logs.items()})
    # the log-spectrogram term dominates at the start (the untrained output is near silence)
    assert losses[-1]["train/g_loss"] < 0.5 * losses[0]["train/g_loss"]
    assert losses[-1]["train/g_spectrogram"] < 0.5 * losses[0]["train/g_spectrogram"]


@pytest.mark.slow
def test_a_stage_runs_alone_from_the_checkpoint_of_the_one_before(compose_cfg, tmp_path):
    task, data = build(compose_cfg, "model.task.schedule.only_stage=postnet")
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = quiet_trainer(limit_val_batches=0, callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(task, datamodule=data)
    # skipped stage 1: batches 2..3 only, both generator updates of stage 2
    assert (task.counters.batches, task.counters.g_updates, task.counters.d_updates) == (4, 2, 0)
    assert task.generator.use_postnet

    task, data = build(compose_cfg, "model.task.schedule.only_stage=adversarial")
    initial_d = snapshot(task.discriminator)
    trainer = quiet_trainer(limit_val_batches=0, plugins=[AtomicCheckpointIO()])
    trainer.fit(task, datamodule=data, ckpt_path=tmp_path / "last.ckpt")
    assert (task.counters.batches, task.counters.g_updates, task.counters.d_updates) == (8, 4, 4)
    assert changed(initial_d, task.discriminator)


def test_only_stage_must_name_a_stage(compose_cfg):
    with pytest.raises(ValueError, match=r"only_stage='gan' is not a stage; the stages are \['wavenet'"):
        build(compose_cfg, "model.task.schedule.only_stage=gan")


@pytest.mark.parametrize("use_postnet", [False, True])
def test_chunked_inference_equals_one_whole_pass(compose_cfg, use_postnet):
    torch.manual_seed(0)
    task, _ = build(compose_cfg)
    task.generator.use_postnet = use_postnet
    noisy = 0.3 * torch.randn(7_919)  # several 0.2 s chunks and a ragged end
    with torch.no_grad():
        whole = task.generator(noisy.view(1, 1, -1))[1].reshape(-1)
    chunked = task.inference_module()(noisy)
    assert chunked.shape == noisy.shape
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_train_then_denoise_a_file_at_its_own_rate(data_dir, tmp_path):
    # train.run, as train.py calls it (the DDP and sweep tests start train.py for this family)
    overrides = [*TINY_DENOISE, "trainer.val_check_interval=4", "data.test_clips=1"]
    run = trained_in_process(overrides, data_dir, tmp_path / "run")
    with open(run / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    logged = {key for row in rows for key, value in row.items() if value}
    for metric in ("pesq", "stoi", "si_sdr"):
        assert {f"val/{metric}", f"val/{metric}_noisy"} <= logged
    assert {"train/g_sample_l1", "train/g_spectrogram", "train/g_adv", "train/g_feature_matching"} <= logged
    samples = {p.name for p in (run / "samples").rglob("*.wav")}
    assert {"clip0_noisy.wav", "clip0_enhanced.wav", "clip0_clean.wav"} <= samples

    ckpt = run / "checkpoints" / "last.ckpt"
    assert load_task(ckpt).generator.use_postnet  # trained through stage 3
    result = run_in_process("eval.py", f"ckpt_path={ckpt}", data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (scores,) = (run / "eval").glob("*/metrics.json")
    assert {"test/pesq", "test/pesq_noisy", "test/stoi", "test/si_sdr"} <= set(json.loads(scores.read_text()))
    clip = next(data_dir.rglob("*.wav"))
    result = run_in_process(
        "infer.py", f"ckpt_path={ckpt}", f"input={clip}", f"output_dir={tmp_path / 'out'}",
        data_dir=data_dir, log_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    written, original = sf.info(str(tmp_path / "out" / f"{clip.stem}.wav")), sf.info(str(clip))
    assert (written.samplerate, written.frames) == (original.samplerate, original.frames) != (16_000, 0)


@pytest.mark.parametrize(("stage", "postnet"), [(None, False), ("postnet", True)])
def test_export_spec_gives_the_final_output_of_the_checkpoints_stage(compose_cfg, stage, postnet):
    only = [f"model.task.schedule.only_stage={stage}"] if stage else []
    task, _ = build(compose_cfg, *only)
    assert task.generator.use_postnet == postnet  # stage 1 trains the WaveNet alone
    noisy = torch.randn(2, 1, 3001)
    with torch.no_grad():
        torch.testing.assert_close(task.export_spec().module(noisy), task.eval().generator(noisy)[1])


def test_the_default_objective_is_the_hinge_loss_of_the_public_implementations(compose_cfg):
    task, _ = build(compose_cfg)
    assert type(task.gan_loss).__name__ == "HingeLoss"
    assert type(build(compose_cfg, "loss=lsgan")[0].gan_loss).__name__ == "LSGANLoss"


def test_mel_discriminator_feature_matching_sees_a_level_difference(compose_cfg):
    torch.manual_seed(0)
    task, _ = build(compose_cfg)
    clean = 0.1 * torch.randn(2, 1, 4000)
    louder = 4 * clean  # +12 dB: a constant shift of every log-mel bin

    def mel_feature_gap(real, fake):
        return sum((r - f).abs().mean() for r, f in zip(real[-1][:-1], fake[-1][:-1], strict=True))

    joint = mel_feature_gap(*joint_pass(task.discriminator, clean, louder))
    apart = mel_feature_gap(task.discriminator(clean), task.discriminator(louder))
    assert joint > 5 * apart  # batch norm over both keeps the shift; separate passes normalise it away
