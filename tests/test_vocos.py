"""Vocos: the official sizes, framing and inverse STFT, the discriminator's groups and feature maps, its
objectives, and that it learns on a fixed batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import compose, fitted_datamodule, on_meta, smoke
from corpus_fixtures import SECONDS, make_librispeech, make_ljspeech, make_vctk
from overfit import early_late, overfit

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram
from audiogan.commands.train import build_task
from audiogan.data.corpora.base import Utterance
from audiogan.data.datasets import WaveformSegments
from audiogan.losses.adversarial import HingeLoss
from audiogan.models.hifigan import MultiPeriodDiscriminator
from audiogan.models.vocos import (
    DFTInverseSTFT,
    InverseSTFT,
    MultiResolutionDiscriminator,
    VocosDiscriminator,
    VocosGenerator,
)

TINY_VOCOS = smoke("vocos")


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_size_networks_have_the_official_parameter_counts():
    task = compose("model=vocos").model.task
    generator, discriminator = on_meta(task.generator), on_meta(task.discriminator)
    # vocos 0.1.0: VocosBackbone(100, 512, 1536, 8), ISTFTHead(512, 1024, 256), MPD, MRD
    assert (_count(generator.backbone), _count(generator.head), _count(generator)) == (
        13_005_312,
        526_338,
        13_531_650,
    )
    assert (_count(discriminator.mpd), _count(discriminator.mrd)) == (41_105_770, 1_413_990)


def test_centred_frames_give_back_the_input_length():
    config = AudioConfig.from_config(compose("model=vocos").audio)
    generator = VocosGenerator(config.n_mels, 16, 32, 2, config.n_fft, config.hop_length)
    audio = torch.randn(2, 24 * 256)
    mel = LogMelSpectrogram(config)(audio)
    assert mel.shape == (2, 100, 24 + 1) == (2, 100, config.frames(audio.shape[-1]))
    assert generator(mel).shape == (2, 1, 24 * 256)


def _stft(audio: torch.Tensor, n_fft: int, hop: int, center: bool) -> torch.Tensor:
    if not center:  # "same": reflect-padded by (n_fft - hop) / 2, uncentred frames
        pad = (n_fft - hop) // 2
        audio = torch.nn.functional.pad(audio[:, None], (pad, pad), mode="reflect")[:, 0]
    window = torch.hann_window(n_fft, dtype=audio.dtype)
    return torch.stft(audio, n_fft, hop, window=window, center=center, return_complex=True)


@pytest.mark.parametrize("padding", ["center", "same"])
def test_the_inverse_stft_inverts_the_stft_of_its_framing(padding):
    audio = torch.randn(2, 40 * 256, dtype=torch.float64)
    spec = _stft(audio, 1024, 256, center=padding == "center")
    istft = InverseSTFT(1024, 256, padding).double()
    restored = istft(spec.abs(), spec.angle())
    expected = audio[:, : (spec.shape[-1] - 1) * 256] if padding == "center" else audio
    torch.testing.assert_close(restored, expected, atol=1e-6, rtol=0)  # the window is float32


@pytest.mark.parametrize("padding", ["center", "same"])
def test_the_exportable_inverse_stft_equals_the_fft_one(padding):
    torch.manual_seed(0)
    fft = InverseSTFT(1024, 256, padding)
    magnitude, phase = torch.rand(2, 513, 30) * 2, torch.randn(2, 513, 30) * 3
    expected = fft(magnitude, phase)
    torch.testing.assert_close(DFTInverseSTFT.like(fft)(magnitude, phase), expected, atol=1e-5, rtol=0)


def test_an_unknown_padding_is_refused_by_name():
    with pytest.raises(ValueError, match="padding='valid'; expected one of"):
        InverseSTFT(1024, 256, "valid")


def _tiny_discriminator() -> VocosDiscriminator:
    return VocosDiscriminator(
        MultiPeriodDiscriminator([2, 3], [4, 8, 16]), MultiResolutionDiscriminator([256, 128], 4)
    )


def test_the_discriminator_leaves_out_each_first_layer_of_its_feature_maps():
    discriminator = _tiny_discriminator()
    assert discriminator.groups == (("mpd", 2), ("mrd", 2))
    branches = discriminator(torch.randn(2, 1, 4096))
    # MPD: 3 convs, the first left out, then logits; MRD: 5 bands x 4 convs after the first, then logits
    assert [len(branch) for branch in branches] == [3, 3, 21, 21]
    assert [branch[0].shape[1] for branch in branches[:2]] == [8, 8]  # the second conv's channels
    assert all(branch[-1].shape[1] == 1 for branch in branches)


def test_the_resolution_discriminator_ignores_level_and_dc_offset():
    torch.manual_seed(0)
    mrd = MultiResolutionDiscriminator([256], 4)
    audio = torch.randn(1, 1, 4096)
    torch.testing.assert_close(mrd(3.0 * audio + 0.1), mrd(audio), atol=1e-4, rtol=1e-4)


def test_the_generator_hinge_stops_pushing_past_the_margin():
    fake = [torch.tensor([2.0, 0.5, -1.0])]
    assert HingeLoss().generator(fake).item() == pytest.approx(-0.5)  # -mean
    assert HingeLoss(generator_hinge=True).generator(fake).item() == pytest.approx((0 + 0.5 + 2) / 3)


def test_each_discriminator_group_is_averaged_over_its_branches_and_weighed_apart(compose_cfg):
    torch.manual_seed(0)
    task = build_task(compose_cfg(*TINY_VOCOS))
    batch, generated = {"audio": 0.3 * torch.randn(2, 4096)}, {"fake": 0.3 * torch.randn(2, 1, 4096)}
    loss, logs, _ = task.discriminator_loss(batch, generated)
    real, fake = task.discriminator(batch["audio"][:, None]), task.discriminator(generated["fake"])
    hinge = [
        (torch.relu(1 - r[-1]).mean() + torch.relu(1 + f[-1]).mean()) for r, f in zip(real, fake, strict=True)
    ]
    mpd, mrd = sum(hinge[:2]) / 2, sum(hinge[2:]) / 2  # the smoke D: periods [2, 3], two resolutions
    torch.testing.assert_close(logs["train/d_loss_mpd"], mpd)
    torch.testing.assert_close(loss, mpd + 0.1 * mrd)


def test_discriminator_weights_must_name_the_discriminators_groups(compose_cfg):
    cfg = compose_cfg(
        *TINY_VOCOS, "~model.task.discriminator_weights.mrd", "+model.task.discriminator_weights.msd=1"
    )
    with pytest.raises(
        ValueError, match=r"discriminator_weights: keys \['mpd', 'msd'\]; .* groups are \['mpd', 'mrd'\]"
    ):
        build_task(cfg)


@pytest.mark.slow
def test_mel_l1_and_the_discriminator_loss_fall_on_a_fixed_batch(compose_cfg):
    cfg = compose_cfg(
        *TINY_VOCOS,
        "model.task.optim.generator.lr=2e-3",
        "model.task.optim.discriminator.lr=2e-3",
        "model.task.schedule.max_batches=30",
        "model.task.scheduler={}",
    )
    history = overfit(cfg, 30)
    early, late = early_late(history["train/g_mel_l1"])
    assert late < 0.8 * early
    early, late = early_late(history["train/d_loss"])
    assert late < early
    assert {"train/g_adv_mrd", "train/g_feature_matching_mpd"} <= history.keys()
    assert all(math.isfinite(v) for v in history["train/g_loss"])


def test_training_segments_peak_at_a_level_drawn_in_decibels(tmp_path):
    audio = 0.5 * np.sin(np.linspace(0, 400, 24000)).astype(np.float32)
    sf.write(tmp_path / "a.wav", audio, 24000, subtype="FLOAT")
    utterances = [Utterance(tmp_path / "a.wav", "s", "", "a")]
    dataset = WaveformSegments(utterances, 24000, 16384, peak=1.0, gain_range=[-6.0, -1.0], gain_unit="db")
    peaks_db = [20 * math.log10(float(dataset[(0, seed)]["audio"].abs().max())) for seed in range(40)]
    assert -6.0 <= min(peaks_db) < -5.0 and -2.0 < max(peaks_db) <= -1.0
    with pytest.raises(ValueError, match="gain_unit='dB'; expected one of"):
        WaveformSegments(utterances, 24000, 16384, gain_unit="dB")


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["ljspeech", "librispeech", "vctk"])
def test_the_corpus_readers_serve_24_khz_segments(compose_cfg, tmp_path, corpus):
    """LJSpeech (22.05 kHz), LibriSpeech (16 kHz) and VCTK (48 kHz) on disk, resampled to Vocos's 24 kHz."""
    root = {
        "ljspeech": lambda: make_ljspeech(tmp_path, n=8),
        "librispeech": lambda: make_librispeech(tmp_path).parent,
        "vctk": lambda: make_vctk(tmp_path, n=4, mics=("mic1",)),
    }[corpus]()
    data = fitted_datamodule(compose_cfg(*TINY_VOCOS, f"data={corpus}", f"data.root={root}"))
    batch = next(iter(data.train_dataloader()))
    assert batch["audio"].shape == (2, 4096)  # the smoke config's segments
    clip = data.val_dataloader().dataset[0]["audio"]
    assert clip.numel() == round(24000 * min(SECONDS, 0.5)) // 256 * 256  # its first 0.5 s at 24 kHz
