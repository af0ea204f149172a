"""SC09 evaluation: the digit classifier, its training cache, Inception Score and Fréchet distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from corpus_fixtures import make_speech_commands

from audiogan.commands import digit_classifier
from audiogan.commands.digit_classifier import load_clips, load_or_train, train_digit_classifier
from audiogan.data.corpora.base import Utterance
from audiogan.data.corpora.speech_commands import SpeechCommands
from audiogan.metrics.digits import (
    CLIP_SAMPLES,
    DigitClassifier,
    DigitLogMel,
    classify,
    fit_clip,
    frechet_distance,
    inception_score,
    inception_splits,
    load_digit_classifier,
)

# A classifier small enough to train on tones in a few seconds on one core.
TINY = {"channels": 4, "n_mels": 32, "batch_size": 10, "epochs": 12, "lr": 3e-3}

# --- front-end and network ---


def test_log_mel_frames_like_tf_pad_end():
    """ceil(T / 128) frames, frame i = window * samples [128 i, 128 i + 1024), zero-padded past the end."""
    frontend = DigitLogMel()
    audio = torch.randn(2, CLIP_SAMPLES)
    mel = frontend(audio)
    assert mel.shape == (2, 1, 128, 128)
    assert frontend(audio[:, :16000]).shape == (2, 1, 128, 125)
    last = np.zeros(1024)
    last[:128] = audio[0, -128:].numpy()
    magnitude = np.abs(np.fft.rfft(frontend.window.numpy() * last))
    expected = np.log(frontend.mel_basis.double().numpy() @ magnitude + 1e-6)
    np.testing.assert_allclose(mel[0, 0, :, -1].numpy(), expected, rtol=1e-4, atol=1e-4)


def test_log_mel_of_a_tone_peaks_at_its_pitch():
    t = torch.arange(CLIP_SAMPLES) / 16000
    mel = DigitLogMel()(torch.sin(2 * math.pi * 1000 * t)[None])
    peak = mel[0, 0, :, 64].argmax().item()
    basis = DigitLogMel().mel_basis
    assert basis[peak, round(1000 / 16000 * 1024)] > 0  # the peak band's triangle covers 1 kHz


def test_classifier_shapes_and_size():
    model = DigitClassifier(channels=8)
    audio = torch.randn(3, CLIP_SAMPLES)
    assert model(audio).shape == (3, 10)
    assert model.penultimate(audio).shape == (3, 8 * 8 * 8) and model.feature_dim == 512
    assert model(audio[:, None]).shape == (3, 10)
    # The original's trainable variables: 4 conv + 5 batch norm + dense.
    assert sum(p.numel() for p in DigitClassifier().parameters()) == 1_331_850
    with pytest.raises(ValueError, match="fit_clip"):
        model(audio[:, :16000])


def test_fit_clip_takes_the_first_slice_and_pads_the_end():
    audio = torch.arange(1.0, 20_001.0)
    assert torch.equal(fit_clip(audio), audio[:CLIP_SAMPLES])
    short = fit_clip(audio[:16000])
    assert short.shape == (CLIP_SAMPLES,) and torch.equal(short[:16000], audio[:16000])
    assert not short[16000:].any()


def test_classify_in_eval_mode_restores_mode():
    model = DigitClassifier(n_mels=32, channels=4).train()
    probabilities, features = classify(model, torch.randn(5, CLIP_SAMPLES), batch_size=2)
    assert probabilities.shape == (5, 10) and features.shape == (5, model.feature_dim)
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(5))
    assert model.training
    single, _ = classify(model, torch.randn(1, CLIP_SAMPLES))  # batch norm uses running statistics
    assert single.shape == (1, 10)


# --- Inception Score ---


def test_inception_score_of_confident_balanced_predictions_is_the_class_count():
    probabilities = torch.eye(10)[torch.arange(100) % 10]
    assert inception_score(probabilities) == pytest.approx((10.0, 0.0))


def test_inception_score_of_identical_predictions_is_one():
    probabilities = torch.softmax(torch.randn(10), 0).expand(50, 10)
    assert inception_score(probabilities.numpy(), splits=5) == pytest.approx((1.0, 0.0))


def test_every_split_holds_enough_clips_to_score_above_its_size():
    assert [inception_splits(n) for n in (1, 18, 99, 100, 256, 5000)] == [1, 1, 1, 2, 5, 10]
    nine_digits = torch.eye(10)[torch.arange(18) % 9]  # 18 held-out clips, confidently classified
    assert inception_score(nine_digits, inception_splits(18))[0] == pytest.approx(9.0)


def test_inception_score_splits():
    # Half the parts see one class only (IS 1), half see two classes evenly (IS 2).
    labels = torch.tensor([0] * 10 + [0, 1] * 5 + [3] * 10 + [4, 5] * 5)
    mean, std = inception_score(torch.eye(10)[labels], splits=4)
    assert (mean, std) == pytest.approx((1.5, 0.5))
    with pytest.raises(ValueError, match="splits"):
        inception_score(torch.eye(10)[:5], splits=10)


# --- Fréchet distance ---


def gaussian_sample(n: int, mean: np.ndarray, std: np.ndarray, seed: int) -> np.ndarray:
    """Samples whose sample mean and covariance are exactly ``mean`` and ``diag(std**2)``."""
    z = np.random.default_rng(seed).standard_normal((n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z * std + mean


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, 0.0])
    std_a, std_b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([3.0, 1.0, 0.5, 0.1])
    a, b = gaussian_sample(200, mean_a, std_a, 0), gaussian_sample(300, mean_b, std_b, 1)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)  # 5.25 + 5.81
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(torch.from_numpy(a).float(), b) == pytest.approx(expected, rel=1e-5)


def test_frechet_distance_matches_scipy_sqrtm_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 16))
    b = rng.standard_normal((200, 16)) @ rng.standard_normal((16, 16)) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    few = rng.standard_normal((5, 16))  # fewer samples than dimensions: singular covariances
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="feature sets"):
        frechet_distance(a, b[:, :8])


# --- training and the cache ---


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    """Ten 'digits' as tones 200 Hz apart: 4 train, 1 val and 1 test clip each (1 s, so they get padded)."""
    root = tmp_path_factory.mktemp("sc09")
    speakers = ("0a", "1b", "2c", "3d", "4e", "5f")
    return SpeechCommands(make_speech_commands(root, speakers=speakers, validation=["4e"], testing=["5f"]))


@pytest.fixture(scope="module")
def trained(tones, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache") / "classifier.pt"
    return train_digit_classifier(tones, cache, device="cpu", **TINY), cache


def test_load_clips_pads_to_the_sc09_length_and_labels_by_word(tones):
    audio, labels = load_clips(tones.utterances("val"))
    assert audio.shape == (10, CLIP_SAMPLES) and not audio[:, 16000:].any()
    assert [tones.utterances("val")[i].text for i in range(3)] == ["eight", "five", "four"]
    assert labels[:3].tolist() == [8, 5, 4]
    utterance = tones.utterances("val")[0]
    with pytest.raises(ValueError, match="yes"):
        load_clips([Utterance(utterance.path, "x", "yes", "yes/1")])
    empty_audio, empty_labels = load_clips([])
    assert empty_audio.shape == (0, CLIP_SAMPLES) and empty_labels.shape == (0,)


def test_training_learns_the_tones(trained, tones):
    model, cache = trained
    assert model.val_accuracy >= 0.7  # chance is 0.1
    audio, labels = load_clips(tones.utterances("test"))
    probabilities, _ = classify(model, audio)
    assert (probabilities.argmax(-1) == labels).float().mean() >= 0.7
    assert not model.training and cache.is_file()


def test_the_cache_is_reused_only_for_the_same_corpus_and_settings(trained, tones, tmp_path, monkeypatch):
    model, cache = trained

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(digit_classifier, "train_digit_classifier", no_training)
    cached = load_or_train(tones, cache, device="cpu", **TINY)
    assert cached.val_accuracy == model.val_accuracy
    for name, value in model.state_dict().items():
        torch.testing.assert_close(cached.state_dict()[name], value)
    assert load_digit_classifier(cache, device="cpu").val_accuracy == model.val_accuracy
    with pytest.raises(AssertionError, match="trained again"):
        load_or_train(tones, cache, device="cpu", **{**TINY, "epochs": 3})
    other = SpeechCommands(make_speech_commands(tmp_path, speakers=("0a", "1b", "2c"), testing=()))
    with pytest.raises(AssertionError, match="trained again"):
        load_or_train(other, cache, device="cpu", **TINY)


def test_cli_trains_and_prints_accuracy_and_cache(tmp_path, capsys):
    make_speech_commands(
        tmp_path / "SpeechCommands", speakers=("0a", "1b", "2c"), validation=("2c",), testing=()
    )
    args = [f"root={tmp_path}", "corpus=speech_commands", "channels=2", "n_mels=16", "max_steps=1"]
    digit_classifier.main([*args, "batch_size=4", "device=cpu"])
    out = capsys.readouterr().out
    cache = tmp_path / "cache" / "digit_classifier_speech_commands.pt"
    assert "validation accuracy: " in out and str(cache) in out and cache.is_file()
    assert load_digit_classifier(cache).feature_dim == 2 * 1 * 8
    with pytest.raises(SystemExit, match="unknown settings"):
        digit_classifier.main([*args, "epoch=3"])
