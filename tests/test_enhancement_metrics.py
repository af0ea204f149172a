"""PESQ (wb), STOI and SI-SDR of a denoised clip next to those of the noisy input."""

from __future__ import annotations

import logging

import pytest
import torch
from torchmetrics.functional.audio import perceptual_evaluation_speech_quality

from audiogan.audio.augment import mix_at_snr, white_noise
from audiogan.audio.io import load_audio, resample
from audiogan.metrics.enhancement import EnhancementMetrics

RATE = 16_000


@pytest.fixture(scope="module")
def speech(data_dir) -> torch.Tensor:
    """Three seconds of embedded speech at 16 kHz (STOI needs ~30 frames of speech after its VAD)."""
    clips = sorted((data_dir / "tiny_speech").rglob("*.wav"))[:8]
    return torch.cat([load_audio(clip, RATE) for clip in clips])[: 3 * RATE]


def noisy(speech: torch.Tensor, snr_db: float) -> torch.Tensor:
    return mix_at_snr(speech, white_noise(speech.numel(), torch.Generator().manual_seed(0)), snr_db)


def test_scores_rank_cleaner_audio_higher_and_report_the_input_beside(speech):
    metrics = EnhancementMetrics(RATE)
    very_noisy, slightly_noisy = noisy(speech, 0.0), noisy(speech, 20.0)
    scores = metrics(slightly_noisy, very_noisy, speech)
    assert set(scores) == {"pesq", "pesq_noisy", "stoi", "stoi_noisy", "si_sdr", "si_sdr_noisy"}
    for name in ("pesq", "stoi", "si_sdr"):
        assert scores[name] > scores[f"{name}_noisy"], name
    assert scores["si_sdr"] == pytest.approx(20.0, abs=0.5) and scores["si_sdr_noisy"] == pytest.approx(
        0.0, abs=0.5
    )
    direct = perceptual_evaluation_speech_quality(very_noisy, speech, RATE, "wb")
    assert scores["pesq_noisy"] == pytest.approx(float(direct), abs=1e-4)
    perfect = metrics(speech, very_noisy, speech)
    assert perfect["pesq"] > 4.4 and perfect["stoi"] > 0.99 and perfect["si_sdr"] > 60


def test_other_sample_rates_are_resampled_for_pesq(speech):
    rate = 22_050
    speech, degraded = resample(speech, RATE, rate), resample(noisy(speech, 5.0), RATE, rate)
    scores = EnhancementMetrics(rate)(degraded, degraded, speech)
    assert 1.0 < scores["pesq"] < 4.0 and scores["pesq"] == scores["pesq_noisy"]


def test_a_clip_pesq_refuses_loses_only_its_pesq_with_a_warning(caplog):
    silence = torch.zeros(RATE)
    with caplog.at_level(logging.WARNING, logger="audiogan.metrics.enhancement"):
        scores = EnhancementMetrics(RATE)(0.01 * torch.randn(RATE), 0.01 * torch.randn(RATE), silence)
    assert "pesq" not in scores and "stoi" in scores and "si_sdr" in scores
    assert "PESQ left out" in caplog.text
