"""The harmonic fine-structure correlation tells a voice's harmonics from its spectral envelope alone."""

from __future__ import annotations

import pytest
import torch

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import GriffinLimVocoder, LogMelSpectrogram, decibels_in_log_units
from audiogan.audio.io import read_audio
from audiogan.data.corpora.tiny_speech import TinySpeech
from audiogan.metrics.harmonics import HarmonicCorrelation

AUDIO = AudioConfig()  # the MelGAN front-end: 22.05 kHz, 1024/256, 80 Slaney mels over 0..11025 Hz, log10
FRONT_END = LogMelSpectrogram(AUDIO)


@pytest.fixture(scope="module")
def speech(data_dir) -> torch.Tensor:
    """2 s of an eSpeak sentence at the MelGAN front-end's 22.05 kHz, a whole number of hops, as [1, T]."""
    audio, rate = read_audio(TinySpeech(data_dir, subset="sentences").utterances("test")[0].path)
    assert rate == AUDIO.sample_rate
    return audio[: 2 * rate // AUDIO.hop_length * AUDIO.hop_length].unsqueeze(0)


@pytest.fixture(scope="module")
def metric() -> HarmonicCorrelation:
    return HarmonicCorrelation(FRONT_END)


def score(metric: HarmonicCorrelation, generated: torch.Tensor, reference: torch.Tensor) -> float:
    """The metric of two waveforms [B, T], through the front-end's log-mels."""
    return metric(FRONT_END(generated), FRONT_END(reference)).item()


def envelope_only(audio: torch.Tensor, smoothing_bins: int = 15) -> torch.Tensor:
    """The same spectral envelope with the harmonics smoothed away (over 15 x 21.5 Hz) and random phase."""
    window = torch.hann_window(1024)
    spec = torch.stft(audio, 1024, 256, window=window, return_complex=True)
    magnitude = spec.abs().transpose(1, 2)  # [B, frames, freqs]
    smooth = (
        torch.nn.functional.avg_pool1d(
            magnitude.reshape(-1, 1, magnitude.shape[-1]),
            smoothing_bins,
            stride=1,
            padding=smoothing_bins // 2,
        )
        .reshape(magnitude.shape)
        .transpose(1, 2)
    )
    phase = torch.rand(smooth.shape, generator=torch.Generator().manual_seed(0)) * 2 * torch.pi
    return torch.istft(torch.polar(smooth, phase), 1024, 256, window=window, length=audio.shape[-1])


def test_the_reference_against_itself_scores_one(metric, speech):
    assert score(metric, speech, speech) == pytest.approx(1.0, abs=1e-5)


def test_bf16_autocast_scores_as_float32(metric, speech):
    noisy = speech + 0.01 * torch.randn(speech.shape, generator=torch.Generator().manual_seed(1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        in_bf16 = score(metric, noisy, speech)
    assert in_bf16 == pytest.approx(score(metric, noisy, speech), abs=1e-5)


def test_griffin_lim_keeps_the_harmonics(metric, speech):
    griffin_lim = GriffinLimVocoder(AUDIO)(FRONT_END(speech))[:, : speech.shape[-1]]
    assert score(metric, griffin_lim, speech) > 0.8


def test_the_envelope_without_harmonics_scores_near_zero(metric, speech):
    assert abs(score(metric, envelope_only(speech), speech)) < 0.3


def test_noise_and_silence_score_near_zero(metric, speech):
    noise = torch.randn(speech.shape, generator=torch.Generator().manual_seed(0)) * 0.1
    assert abs(score(metric, noise, speech)) < 0.2
    assert score(metric, torch.zeros_like(speech), speech) == 0.0


def test_the_loud_frame_range_is_in_the_front_ends_log_units():
    assert [decibels_in_log_units(20.0, scale) for scale in ("log10", "ln", "db")] == pytest.approx(
        [1.0, 2.302585, 20.0]
    )


def test_the_band_holds_the_bins_below_two_kilohertz(metric):
    # Slaney mels over 0..11025 Hz: about 42 Hz per bin below 1 kHz, so 40 of the 80 bins lie below 2 kHz
    assert metric.n_bins == 40


def test_an_even_or_too_narrow_smoothing_width_is_refused():
    with pytest.raises(ValueError, match="width must be an odd number"):
        HarmonicCorrelation(FRONT_END, width=4)
