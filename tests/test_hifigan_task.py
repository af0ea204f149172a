"""HiFi-GAN as a task: losses move the right way on a fixed batch, the full-band loss mel, the per-epoch lr
decay, and the trained vocoder through the Python API and voice conversion's ``vocoder_ckpt``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_in_process, smoke
from overfit import early_late, overfit

import audiogan
from audiogan.commands.train import build_task, run
from audiogan.data.corpora.tiny_speech import TinySpeech
from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import init_from

pytestmark = pytest.mark.slow  # every test trains, or loads a trained run
TINY_HIFIGAN = smoke("hifigan")


def test_discriminator_loss_falls_on_a_fixed_batch(compose_cfg):
    cfg = compose_cfg(
        *TINY_HIFIGAN,
        "model.task.optim.discriminator.lr=1e-3",
        "model.task.optim.generator.lr=1e-5",
        "model.task.schedule.max_batches=30",
    )
    early, late = early_late(overfit(cfg, 30)["train/d_loss"])
    assert late < 0.5 * early


def test_mel_l1_falls_on_a_fixed_batch_while_the_adversarial_terms_train(compose_cfg):
    cfg = compose_cfg(
        *TINY_HIFIGAN, "model.task.optim.generator.lr=1e-3", "model.task.schedule.max_batches=30"
    )
    history = overfit(cfg, 30)
    early, late = early_late(history["train/g_mel_l1"])
    assert late < 0.8 * early
    assert {"train/g_adv", "train/g_feature_matching", "train/d_loss"} <= history.keys()


def test_the_loss_mel_covers_the_full_band_the_input_mel_stops_at_8_khz(compose_cfg):
    task = build_task(compose_cfg(*TINY_HIFIGAN))
    freqs = torch.linspace(0, 11025, 513)
    above = (freqs > 8000) & (freqs < 11000)
    assert task.log_mel.mel_basis[:, freqs > 8000].abs().max() == 0
    assert task.loss_mel.mel_basis[:, above].sum(0).min() > 0  # every bin up to Nyquist feeds a band
    t = torch.arange(8192) / 22050
    real = 0.3 * torch.sin(2 * math.pi * 200 * t).unsqueeze(0)
    fake = 0.3 * torch.sin(2 * math.pi * 9000 * t).unsqueeze(0)
    _, logs = task.generator_loss({"audio": real}, {"fake": fake.unsqueeze(1)}, False, {})
    assert logs["train/g_mel_l1"] == pytest.approx(
        float((task.loss_mel(fake) - task.loss_mel(real)).abs().mean())
    )
    assert logs["train/g_mel_l1"] != pytest.approx(
        float((task.log_mel(fake) - task.log_mel(real)).abs().mean())
    )


def test_learning_rates_decay_by_0_999_per_epoch(compose_cfg, tmp_path):
    cfg = compose_cfg(*TINY_HIFIGAN, "model.task.schedule.max_batches=3", "+trainer.limit_train_batches=1")
    run(cfg)
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    # the last checkpoint may be written before the last epoch's decay: 2 or 3 decays in three epochs
    for scheduler in checkpoint["lr_schedulers"]:
        (lr,) = scheduler["_last_lr"]
        assert lr in (pytest.approx(2e-4 * 0.999**2), pytest.approx(2e-4 * 0.999**3))


@pytest.fixture(scope="module")
def hifigan_ckpt(smoke_run):
    return smoke_run("hifigan") / "checkpoints" / "last.ckpt"


def test_the_python_api_vocodes_log_mels_with_a_baked_generator(hifigan_ckpt):
    vocoder = audiogan.load(hifigan_ckpt)
    t = np.arange(11025)
    speech = (0.3 * np.sin(2 * np.pi * 200 * t / 22050)).astype(np.float32)
    mel = vocoder.log_mel(torch.from_numpy(speech), 22050)
    assert mel.shape == (80, 11025 // 256)
    audio = vocoder.vocode(mel)
    assert audio.sample_rate == 22050 and audio.waveform.shape == (mel.shape[-1] * 256,)
    assert torch.isfinite(audio.waveform).all() and audio.waveform.abs().max() <= 1.0
    assert vocoder.vocode(mel.expand(2, -1, -1)).waveform.shape == (2, mel.shape[-1] * 256)
    generator = vocoder.module.vocoder.generator
    assert not any(hasattr(m, "parametrizations") for m in generator.modules())  # weight norm baked in
    assert vocoder(speech, 22050).waveform.shape == (11025,)  # resynthesis is as long as its input


def test_voice_conversion_renders_through_a_hifigan_vocoder_ckpt(smoke_run, hifigan_ckpt, data_dir, tmp_path):
    source = next(
        u.path for u in TinySpeech(data_dir, subset="sentences").utterances("test") if u.speaker == "us_m3"
    )
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    sf.write(inputs / "a.wav", sf.read(source)[0], 22050)
    result = run_in_process(
        "convert.py",
        f"ckpt_path={smoke_run('voice_conversion') / 'checkpoints' / 'last.ckpt'}",
        f"input={inputs}",
        f"output_dir={tmp_path / 'converted'}",
        "device=cpu",
        f"vocoder_ckpt={hifigan_ckpt}",
        data_dir=data_dir,
        log_dir=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    audio, rate = sf.read(tmp_path / "converted" / "a.wav")
    assert rate == 22050 and len(audio) == sf.info(str(source)).frames
    assert np.isfinite(audio).all() and abs(audio).max() > 0


def test_init_from_copies_a_hifigan_run_and_refuses_a_melgan_one(smoke_run, hifigan_ckpt, compose_cfg):
    task = build_task(compose_cfg(*TINY_HIFIGAN))
    init_from(task, hifigan_ckpt)
    trained = torch.load(hifigan_ckpt, weights_only=False)["state_dict"]
    for name, value in task.state_dict().items():
        if name.startswith(("generator.", "discriminator.")):
            assert torch.equal(value, trained[name]), name
    with pytest.raises(ConfigError, match="is a MelGANTask checkpoint; this run trains a HiFiGANTask"):
        init_from(task, smoke_run("melgan") / "checkpoints" / "last.ckpt")  # sibling vocoders, not one family
