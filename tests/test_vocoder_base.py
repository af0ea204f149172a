"""The vocoder base: front-ends as configuration, the shared evaluation front-end, older argument names, the
roles a family takes on, and the release layouts the families declare."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from conftest import TOY_CONF, compose, smoke

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram
from audiogan.commands.train import build_task
from audiogan.errors import ConfigError, UnsupportedCommand
from audiogan.runs.layouts import release_layouts
from audiogan.runs.releases import read_release, task_from_release
from audiogan.tasks.hifigan import HiFiGANTask
from audiogan.tasks.roles import Exportable, MelVocoding, Sampler, require

CENTRED_HTK = AudioConfig(
    sample_rate=16000, n_fft=256, hop_length=64, win_length=256, n_mels=32, fmax=8000.0,
    mel_scale="htk", mel_norm=None, log="ln", log_floor=1e-7, center=True,
)  # fmt: skip


def toy_vocoder(*overrides: str):
    return build_task(compose(*smoke("toy_vocoder"), *overrides))


@pytest.mark.parametrize("center", [False, True])
def test_frames_follow_the_framing(center):
    config = dataclasses.replace(CENTRED_HTK, center=center)
    for samples in (1000, 1024, 1088):
        assert LogMelSpectrogram(config)(torch.randn(2, samples)).shape == (2, 32, config.frames(samples))
    assert config.frames(1024) == (17 if center else 16)


@pytest.mark.slow
def test_a_centred_htk_front_end_equals_librosas():
    librosa = pytest.importorskip("librosa")
    audio = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1
    ours = LogMelSpectrogram(CENTRED_HTK)(torch.from_numpy(audio)[None])[0].numpy()
    mel = librosa.feature.melspectrogram(
        y=audio, sr=16000, n_fft=256, hop_length=64, win_length=256, center=True, pad_mode="reflect",
        power=1.0, n_mels=32, fmin=0.0, fmax=8000.0, htk=True, norm=None,
    )  # fmt: skip
    np.testing.assert_allclose(ours, np.log(np.maximum(mel, 1e-7)), atol=1e-4)


def _hifigan_mel(audio: torch.Tensor, fmax: float | None) -> torch.Tensor:
    """HiFi-GAN's mel_spectrogram as its meldataset.py defines it: reflect-padded by (n_fft - hop) / 2,
    uncentred Hann STFT, sqrt(re^2 + im^2 + 1e-9), librosa's Slaney bands, ln clamped at 1e-5."""
    import librosa

    padded = torch.nn.functional.pad(audio[:, None], (384, 384), mode="reflect")[:, 0]
    spec = torch.stft(padded, 1024, 256, 1024, torch.hann_window(1024), center=False, return_complex=True)
    magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    basis = torch.from_numpy(librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=fmax))
    return torch.log(torch.clamp(basis @ magnitude, min=1e-5))


@pytest.mark.parametrize("amplitude", [0.5, 1e-4])  # speech level, and near-silence where 1e-9 decides
def test_hifigans_front_end_equals_the_official_mel_spectrogram(compose_cfg, amplitude):
    torch.manual_seed(0)
    audio = torch.randn(2, 8192) * amplitude
    task = build_task(compose_cfg(*smoke("hifigan")))
    for front_end, fmax in ((task.audio_config, 8000.0), (task.audio_config.loss_front_end(), None)):
        ours = LogMelSpectrogram(front_end)(audio)
        assert (ours - _hifigan_mel(audio, fmax)).abs().max() <= 1e-5


def test_griffin_lim_of_a_centred_front_end_is_as_long_as_the_audio_it_came_from():
    mel = LogMelSpectrogram(CENTRED_HTK)(torch.randn(1, 64 * 20))
    assert GriffinLimVocoder(CENTRED_HTK, n_iter=2)(mel).shape == (1, 64 * 20)


def test_the_loss_front_end_takes_the_loss_mels_settings_only():
    config = AudioConfig(fmax=8000.0, loss_mel={"fmax": None})
    assert config.loss_front_end() == AudioConfig(fmax=None)
    assert AudioConfig().loss_front_end() == AudioConfig()
    with pytest.raises(ValueError, match=r"audio.loss_mel: unknown key\(s\) \['fmaxx'\]"):
        AudioConfig(loss_mel={"fmaxx": None})


def test_hifigans_loss_mel_is_full_band_and_its_input_mel_band_limited(compose_cfg):
    task = build_task(compose_cfg(*smoke("hifigan")))
    assert (task.log_mel.config.fmax, task.loss_mel.config.fmax) == (8000.0, None)
    melgan = build_task(compose_cfg(*smoke("melgan")))
    assert melgan.loss_mel is melgan.log_mel  # no loss mel of its own: the input mel is reused


def test_vocoder_scores_on_the_shared_front_end_too():
    task = toy_vocoder()  # 16 kHz, scored on the 22.05 kHz shared front-end after resampling
    shared = compose().evaluation.audio
    assert task.shared_metrics.log_mel.config == AudioConfig.from_config(shared)
    noise = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    scores = task.shared_metrics(noise, noise)
    assert scores["mel_l1"] == 0 and scores["harmonic_corr"] == pytest.approx(1.0)
    # a quarter of the amplitude is ln 4 lower in every band above the floor (none above 8 kHz: 16 kHz audio)
    assert 0.5 < task.shared_metrics(noise * 0.25, noise)["mel_l1"] <= np.log(4) + 1e-4
    assert not any("shared" in key for key in task.state_dict())  # derived from the configs, not weights


def test_arguments_of_0_1_are_upgraded_with_one_log_line(caplog):
    old = {"adversarial": {"_target_": "x"}, "audio": {"fmax": 8000.0}, "loss_mel_fmax": None, "optim": {}}
    caplog.set_level(logging.INFO, logger="audiogan")
    upgraded = HiFiGANTask.upgrade_arguments(old, "old.ckpt")
    assert upgraded == {
        "gan_loss": {"_target_": "x"},
        "audio_config": {"fmax": 8000.0, "loss_mel": {"fmax": None}},
        "optim": {},
    }
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == (
        "old.ckpt was written with older argument names: adversarial -> gan_loss, audio -> audio_config, "
        "loss_mel_fmax -> audio_config.loss_mel.fmax"
    )
    assert HiFiGANTask.upgrade_arguments(upgraded, "new.ckpt") == upgraded and len(caplog.records) == 1


def test_a_role_a_family_does_not_take_on_is_refused_naming_both():
    task = toy_vocoder()
    assert require(task, MelVocoding) is task and require(task, Exportable) is task
    with pytest.raises(
        UnsupportedCommand, match=r"^ToyVocoderTask checkpoints offer no unconditional sampling"
    ):
        require(task, Sampler, "sample.py")


def test_layouts_are_found_through_the_model_configs():
    names = [layout.name for layout in release_layouts([TOY_CONF])]
    assert "toy vocoder" in names
    assert "toy vocoder" not in [layout.name for layout in release_layouts()]  # only where its config is


def test_a_release_is_read_into_its_family_and_written_back(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="audiogan")
    task = toy_vocoder("model.task.generator.channels=6")
    (written,) = [layout for layout in release_layouts([TOY_CONF]) if layout.name == "toy vocoder"][0].write(
        task, tmp_path
    )
    release = read_release(written, config_dirs=[TOY_CONF])
    imported = task_from_release(release, [TOY_CONF])
    assert imported.generator.pre.out_channels == 6  # the release's sizes, not the config's default 8
    for name, value in task.generator.state_dict().items():
        assert torch.equal(imported.generator.state_dict()[name], value), name
    assert "toy_vocoder release: no discriminator" in caplog.text  # what the reader assumed, said
    release.state_dict["generator.pre.weight"] = torch.zeros(5, 32, 3)
    with pytest.raises(ConfigError, match=r"toy_vocoder release: size mismatch for generator.pre.weight"):
        task_from_release(release, [TOY_CONF])


def test_a_file_of_no_known_layout_is_refused_listing_the_layouts(tmp_path):
    stray = tmp_path / "weights.bin"
    stray.write_bytes(b"\0" * 8)
    with pytest.raises(
        ConfigError, match=r"weights.bin is in no release layout known here; .*toy_vocoder\*\.pt"
    ):
        read_release(stray, config_dirs=[TOY_CONF])
