"""PESQ (wb), STOI and SI-SDR of the output next to those of the noisy input, on eSpeak speech."""

from __future__ import annotations

import logging

import pytest
import torch
from torchmetrics.functional.audio import (
    perceptual_evaluation_speech_quality,
    scale_invariant_signal_distortion_ratio,
    short_time_objective_intelligibility,
)

from audiogan.audio.augment import mix_at_snr, white_noise
from audiogan.audio.io import read_audio, resample
from audiogan.data.corpora.tiny_speech import TinySpeech
from audiogan.metrics.enhancement import EnhancementMetrics

NAMES = {"pesq", "stoi", "si_sdr", "pesq_noisy", "stoi_noisy", "si_sdr_noisy"}


def scored(scores: dict[str, torch.Tensor]) -> set[str]:
    """The names a clip got a score for (the others are NaN)."""
    return {name for name, value in scores.items() if not value.isnan()}


@pytest.fixture(scope="module")
def speech(data_dir) -> tuple[torch.Tensor, int]:
    """2.5 s of one sentence of the embedded corpus, at its own 22.05 kHz."""
    audio, rate = read_audio(TinySpeech(data_dir, subset="sentences").utterances("test")[0].path)
    return audio[: int(2.5 * rate)], rate


@pytest.fixture(scope="module")
def clean(speech) -> torch.Tensor:
    audio, rate = speech
    return resample(audio, rate, 16_000)


def noisy(clean: torch.Tensor, snr_db: float, seed: int = 0) -> torch.Tensor:
    return mix_at_snr(clean, white_noise(clean.numel(), torch.Generator().manual_seed(seed)), snr_db)


def test_clean_against_itself_scores_the_maximum(clean):
    scores = EnhancementMetrics(16_000)(clean, noisy(clean, 5), clean)
    assert set(scores) == NAMES
    assert all(v.dtype == torch.float32 and v.dim() == 0 for v in scores.values())
    assert scores["pesq"] > 4.5 and scores["stoi"] > 0.99 and scores["si_sdr"] > 50


def test_more_noise_scores_lower_on_every_metric(clean):
    metrics = EnhancementMetrics(16_000)
    low, high = (metrics(noisy(clean, snr), noisy(clean, snr), clean) for snr in (0, 20))
    for name in NAMES:
        assert low[name] < high[name], name
    assert high["si_sdr"] == pytest.approx(20, abs=0.5)  # white noise at 20 dB SNR: SI-SDR ~ SNR


def test_scores_are_those_of_direct_torchmetrics_calls(clean):
    enhanced, mixture = noisy(clean, 15, seed=1), noisy(clean, 0, seed=2)
    scores = EnhancementMetrics(16_000)(enhanced, mixture, clean)
    for suffix, estimate in (("", enhanced), ("_noisy", mixture)):
        expected = {
            "pesq": perceptual_evaluation_speech_quality(estimate, clean, 16_000, "wb"),
            "stoi": short_time_objective_intelligibility(estimate, clean, 16_000),
            "si_sdr": scale_invariant_signal_distortion_ratio(estimate, clean, zero_mean=True),
        }
        for name, value in expected.items():
            assert scores[name + suffix] == pytest.approx(float(value), abs=1e-4), name + suffix
    assert scores["pesq"] > scores["pesq_noisy"]  # the improvement the dashboard shows


def test_a_dc_offset_is_not_counted_as_distortion(clean):
    metrics = EnhancementMetrics(16_000)
    enhanced = noisy(clean, 15, seed=1)
    centred, offset = (
        metrics(estimate, enhanced, clean)["si_sdr"] for estimate in (enhanced, enhanced + 0.05)
    )
    assert offset == pytest.approx(float(centred), abs=1e-3)


def test_another_rate_is_resampled_to_16k_for_pesq(speech):
    audio, rate = speech
    assert rate != 16_000
    enhanced, mixture = noisy(audio, 20, seed=1), noisy(audio, 0, seed=2)
    scores = EnhancementMetrics(rate)(enhanced, mixture, audio)
    assert set(scores) == NAMES
    for suffix, estimate in (("", enhanced), ("_noisy", mixture)):
        pesq16 = perceptual_evaluation_speech_quality(
            *(resample(x, rate, 16_000) for x in (estimate, audio)), 16_000, "wb"
        )
        assert scores["pesq" + suffix] == pytest.approx(float(pesq16), abs=1e-3)
        stoi = short_time_objective_intelligibility(estimate, audio, rate)  # pystoi resamples itself
        assert scores["stoi" + suffix] == pytest.approx(float(stoi), abs=1e-4)
    assert scores["pesq"] > scores["pesq_noisy"]


def test_batches_average_clips_and_accept_bf16(clean):
    metrics = EnhancementMetrics(16_000)
    outputs, mixture = [noisy(clean, 20, seed=1), noisy(clean, 5, seed=2)], noisy(clean, 0, seed=3)
    batch = metrics(torch.stack(outputs), torch.stack([mixture, mixture]), torch.stack([clean, clean]))
    single = [metrics(output, mixture, clean) for output in outputs]
    for name in NAMES:
        assert batch[name] == pytest.approx(float(single[0][name] + single[1][name]) / 2, abs=1e-4)
    half = metrics(*(x.bfloat16() for x in (outputs[0], mixture, clean)))
    assert half["si_sdr"] == pytest.approx(float(single[0]["si_sdr"]), abs=1.0)
    assert half["pesq"] == pytest.approx(float(single[0]["pesq"]), abs=0.2)


def test_silent_reference_leaves_the_clip_out_with_a_warning(clean, caplog):
    metrics = EnhancementMetrics(16_000)
    mixture = noisy(clean, 5)
    with caplog.at_level(logging.WARNING):
        scores = metrics(
            torch.stack([mixture, mixture]), torch.stack([mixture, mixture]), torch.stack([0 * clean, clean])
        )
    assert "clip 0 left out" in caplog.text and "all zeros" in caplog.text
    alone = metrics(mixture, mixture, clean)
    assert {k: float(v) for k, v in scores.items()} == pytest.approx({k: float(v) for k, v in alone.items()})
    nothing = metrics(mixture, mixture, torch.zeros_like(clean))
    assert set(nothing) == NAMES and all(v.isnan() for v in nothing.values())


def test_silent_or_nan_output_loses_its_pesq(clean, caplog):
    metrics = EnhancementMetrics(16_000)
    with caplog.at_level(logging.WARNING):
        scores = metrics(torch.zeros_like(clean), noisy(clean, 5), clean)
    assert scored(scores) == NAMES - {"pesq"} and scores["pesq"].isnan()
    assert "pesq of clip 0 left out: silent or non-finite" in caplog.text
    assert scores["stoi"] < 0.1 < scores["stoi_noisy"]
    diverged = metrics(torch.full_like(clean, float("nan")), noisy(clean, 5), clean)
    assert diverged["pesq"].isnan() and diverged["si_sdr"].isnan()  # NaN stays visible
    assert not diverged["pesq_noisy"].isnan()


def test_too_short_clip_keeps_only_si_sdr(clean, caplog):
    start = max(int(clean.abs().argmax()) - 1_600, 0)  # 0.2 s of speech around the loudest sample
    short = clean[start : start + 3_200]
    with caplog.at_level(logging.WARNING):
        scores = EnhancementMetrics(16_000)(short, noisy(short, 0), short)
    assert scored(scores) == {"si_sdr", "si_sdr_noisy"}
    assert "1/4 of a second" in caplog.text  # PESQ's reason
    assert "STFT frames" in caplog.text  # pystoi's reason


def test_mismatched_shapes_are_refused(clean):
    with pytest.raises(ValueError, match="same shape"):
        EnhancementMetrics(16_000)(clean[:-1], clean, clean)
