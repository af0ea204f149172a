"""Voice-conversion parts: networks (seed sizes, any length), GlobalStats, trimming, DTW, MCD, and the
rebinning of converted mels for a MelGAN vocoder."""

from __future__ import annotations

import dataclasses
import math
import statistics

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from audiogan.audio.alignment import align, dtw_path, mel_cepstrum, trim_silence, voiced_bounds
from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram, MelRebinning, mel_filterbank
from audiogan.metrics.conversion import mel_cepstral_distortion
from audiogan.models.global_stats import GlobalStats
from audiogan.models.voice_conversion import (
    ImprovedDiscriminator,
    ImprovedGenerator,
    LearnableScaling,
    ResidualBlock,
)

LENGTHS = [1, 17, 64, 100, 129]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def convs(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, nn.Conv1d | nn.ConvTranspose1d)]


# --- networks ---


def test_learnable_scaling_starts_at_seed_values_and_trains():
    layer = LearnableScaling(channels=4)
    x = torch.randn(2, 4, 5)
    assert torch.equal(layer(x), 3.0 * x)
    assert dict(layer.named_parameters()).keys() == {"scale", "bias"}
    assert all(p.requires_grad and p.shape == (1, 4, 1) for p in layer.parameters())
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    (layer(x) - 1.0).square().mean().backward()
    optimizer.step()
    assert not torch.allclose(layer.scale, torch.full_like(layer.scale, 3.0))
    assert not torch.allclose(layer.bias, torch.zeros_like(layer.bias))


def test_residual_block_keeps_shape_and_adds_its_input():
    block = ResidualBlock(6)
    x = torch.randn(3, 6, 11)
    assert block(x).shape == x.shape
    assert (block(x) >= 0).all()  # the final ReLU
    with torch.no_grad():  # a silenced body (last BN scaled to zero) leaves relu(x): the skip connection
        block.body[-1].weight.zero_()
        block.body[-1].bias.zero_()
    assert torch.equal(block(x), torch.relu(x))


@pytest.mark.parametrize("frames", LENGTHS)
def test_generator_output_length_equals_input_length(frames):
    torch.manual_seed(0)
    g = ImprovedGenerator(hidden_channels=4)
    mel = torch.randn(2, 80, frames)
    out = g(mel)
    assert out.shape == (2, 80, frames)
    assert torch.isfinite(out).all()
    g.eval()
    with torch.no_grad():  # the first T frames of the output for the input padded with its last frame
        padded = torch.cat([mel, mel[..., -1:].expand(-1, -1, -frames % 8)], dim=-1)
        assert torch.allclose(g(mel), g(padded)[..., :frames], atol=1e-6)
        if frames > 1:  # while the output of a mel cut short is not simply cut short
            assert not torch.allclose(g(mel[..., :-1]), g(mel)[..., :-1], atol=1e-6)


def test_generator_layout_and_scaling_output():
    with torch.device("meta"):
        g = ImprovedGenerator()
    shapes = [(c.in_channels, c.out_channels) for c in convs(g)]
    assert shapes[:4] == [(80, 512), (512, 1024), (1024, 2048), (2048, 4096)]  # encoder
    assert shapes[4:10] == [(4096, 4096)] * 6  # three residual blocks, two convs each
    assert shapes[10:] == [(4096, 2048), (2048, 1024), (1024, 512), (512, 80)]  # decoder, output conv
    assert sum(isinstance(c, nn.ConvTranspose1d) for c in convs(g)) == 3
    assert g.total_stride == 8
    assert isinstance(list(g.children())[-1], LearnableScaling)
    assert not any(isinstance(m, nn.Tanh) for m in g.modules())


def test_full_size_parameter_counts():
    with torch.device("meta"):  # ~391M parameters: count them without allocating 1.6 GB
        g, d = ImprovedGenerator(), ImprovedDiscriminator()
    assert n_params(g.encoder) == 44_349_952
    assert n_params(g.residual_blocks) == 302_063_616
    assert n_params(g.decoder) == 44_337_744
    assert n_params(g.output_scaling) == 160
    assert n_params(g) == 390_751_472
    assert n_params(d) == 44_242_433


@pytest.mark.parametrize("frames", LENGTHS)
def test_discriminator_gives_one_logit_per_16_frames(frames):
    torch.manual_seed(0)
    d = ImprovedDiscriminator(hidden_channels=4)
    logits = d(torch.randn(3, 80, frames))
    assert logits.shape == (3, math.ceil(frames / 16))
    assert torch.isfinite(logits).all()


def test_discriminator_has_spectral_norm_on_every_conv_and_no_sigmoid():
    d = ImprovedDiscriminator(hidden_channels=4)
    layers = convs(d)
    assert len(layers) == 5
    assert sum(isinstance(m, nn.BatchNorm1d) for m in d.modules()) == 3
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    for conv in layers:
        assert parametrize.is_parametrized(conv, "weight")
        assert "SpectralNorm" in type(conv.parametrizations.weight[0]).__name__
        sigma = torch.linalg.matrix_norm(conv.weight.detach().reshape(conv.out_channels, -1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


# --- GlobalStats ---


def test_global_stats_moving_average_matches_hand_computation():
    stats = GlobalStats()
    assert stats.source.mean.item() == -30 and stats.source.std.item() == 20
    assert stats.source.min.item() == -80 and stats.source.max.item() == 0
    batches = [[-40.0, -20.0, -60.0, -10.0], [-90.0, -35.0, -30.0, -25.0], [-50.0, 5.0, -45.0, -15.0]]
    mean, std, low, high = -30.0, 20.0, -80.0, 0.0
    for values in batches:
        stats.update_from_batch(torch.tensor(values).reshape(1, 2, 2), torch.zeros(1, 2, 2))
        mean = 0.95 * mean + 0.05 * statistics.mean(values)
        std = 0.95 * std + 0.05 * statistics.stdev(values)
        low, high = min(low, min(values)), max(high, max(values))
    assert stats.source.mean.item() == pytest.approx(mean, rel=1e-6)
    assert stats.source.std.item() == pytest.approx(std, rel=1e-6)
    assert (stats.source.min.item(), stats.source.max.item()) == (-90.0, 5.0)
    # the target side moved on its own batches (all zeros: mean 0, std 0) only
    assert stats.target.mean.item() == pytest.approx(-30 * 0.95**3, rel=1e-6)
    assert stats.target.std.item() == pytest.approx(20 * 0.95**3, rel=1e-6)
    assert (stats.target.min.item(), stats.target.max.item()) == (-80.0, 0.0)


def test_global_stats_round_trip_and_checkpoint():
    stats = GlobalStats()
    stats.update_from_batch(torch.randn(2, 80, 30) * 15 - 40, torch.randn(2, 80, 30) * 10 - 20)
    mel = torch.randn(2, 80, 30) * 20 - 30
    normalized = stats.source.normalize(mel)
    assert torch.allclose(normalized, (mel - stats.source.mean) / stats.source.std)
    assert torch.allclose(stats.source.denormalize(normalized), mel, atol=1e-4)
    assert list(stats.parameters()) == []
    state = stats.state_dict()
    names = ("mean", "std", "min", "max")
    assert set(state) == {f"{side}.{name}" for side in ("source", "target") for name in names}
    restored = GlobalStats()
    restored.load_state_dict(state)
    assert torch.equal(restored.target.normalize(mel), stats.target.normalize(mel))


def test_global_stats_blend_for_conversion():
    stats = GlobalStats(blend=0.7)
    stats.update_from_batch(torch.full((1, 4, 4), -50.0), torch.full((1, 4, 4), 10.0))
    mean, std = stats.conversion_stats()
    assert mean.item() == pytest.approx(0.3 * stats.source.mean.item() + 0.7 * stats.target.mean.item())
    assert std.item() == pytest.approx(0.3 * stats.source.std.item() + 0.7 * stats.target.std.item())
    x = torch.randn(1, 4, 4)
    assert torch.allclose(stats.denormalize_converted(x), x * std + mean)
    assert stats.target.max.item() == 10.0
    assert stats.denormalize_converted(torch.full((1, 4, 4), 100.0), clip=True).max().item() == 10.0
    pure_target = GlobalStats()  # default blend 1: the target's own statistics, the inverse of training
    pure_target.load_state_dict(stats.state_dict())
    assert torch.allclose(pure_target.denormalize_converted(x), pure_target.target.denormalize(x))
    with pytest.raises(ValueError, match="blend"):
        GlobalStats(blend=1.5)


# --- trimming and alignment ---


def test_trim_silence_drops_quiet_ends_only():
    torch.manual_seed(0)
    speech = torch.rand(20, 30) * -40  # levels 0 .. -40 dB
    speech[:, 10] = -100.0  # a pause inside: kept
    speech[:, 0] = -55.0  # 55 dB below the loudest frame: still voiced at top_db 60
    mel = torch.cat([torch.full((20, 5), -100.0), speech, torch.full((20, 7), -100.0)], dim=1)
    assert voiced_bounds(mel, top_db=60.0) == (5, 35)
    assert torch.equal(trim_silence(mel, top_db=60.0), speech)
    assert trim_silence(mel, top_db=50.0).shape[-1] == 29  # now the -55 dB first frame goes too
    assert torch.equal(trim_silence(mel - 17.0, top_db=60.0), speech - 17.0)  # relative to the max


def _warp():
    """A 25-frame sequence and the indices of an unevenly slowed-down version (frames repeated)."""
    torch.manual_seed(1)
    x = torch.randn(80, 25) * 10 - 40
    repeats = torch.tensor([2, 1, 3, 1, 1, 1, 2, 1, 1, 1, 4, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 4])
    return x, torch.arange(25).repeat_interleave(repeats)


def test_dtw_recovers_a_known_time_warp():
    x, index = _warp()
    y = x[:, index]
    ix, iy = dtw_path(x, y)
    assert torch.equal(iy, torch.arange(y.shape[-1]))
    assert torch.equal(ix, index)
    # and the other way round
    iy2, ix2 = dtw_path(y, x)
    assert torch.equal(iy2, torch.arange(y.shape[-1])) and torch.equal(ix2, index)


def test_dtw_path_is_a_minimal_monotone_path():
    torch.manual_seed(2)
    x, y = torch.randn(5, 13), torch.randn(5, 9)
    ix, iy = dtw_path(x, y)
    assert (ix[0], iy[0], ix[-1], iy[-1]) == (0, 0, 12, 8)
    steps = torch.stack([ix.diff(), iy.diff()])
    assert ((steps >= 0) & (steps <= 1)).all() and (steps.sum(0) >= 1).all()
    cost = torch.cdist(x.T.double(), y.T.double())
    best = torch.full((14, 10), math.inf, dtype=torch.float64)  # brute-force DP, padded with a border
    best[0, 0] = 0.0
    for i in range(13):
        for j in range(9):
            best[i + 1, j + 1] = cost[i, j] + min(best[i, j], best[i, j + 1], best[i + 1, j])
    best[0, 0] = math.inf
    assert cost[ix, iy].sum().item() == pytest.approx(best[-1, -1].item(), rel=1e-12)


def test_align_maps_source_onto_target_timing():
    x, index = _warp()
    target = x[:, index] + 6.0  # slower and 6 dB louder: c0 differs, the path must not care
    source, kept = align(x, target)
    assert kept is target
    assert torch.equal(source, x[:, index])
    source, target_on_path = align(x, target, to_target_timing=False)
    assert source.shape == target_on_path.shape == (80, len(index))
    assert torch.equal(source + 6.0, target_on_path)
    # the other way, a slow source: each target frame takes the first of the source frames matched to it
    slow = x[:, index] + 0.1 * torch.randn(80, len(index))
    source, _ = align(slow, x)
    assert torch.equal(source, slow[:, torch.searchsorted(index, torch.arange(25))])


# --- MCD ---


def test_mcd_zero_for_identical_and_positive_symmetric_otherwise():
    torch.manual_seed(3)
    a, b = torch.randn(80, 40) * 10 - 40, torch.randn(80, 50) * 10 - 40
    assert mel_cepstral_distortion(a, a).item() == 0.0
    d_ab, d_ba = mel_cepstral_distortion(a, b).item(), mel_cepstral_distortion(b, a).item()
    assert d_ab > 1.0
    assert d_ab == pytest.approx(d_ba, rel=1e-9)
    assert mel_cepstral_distortion(a, b + 12.0).item() == pytest.approx(d_ab, rel=1e-9)  # c0 is excluded


def test_mcd_value_of_a_single_cepstral_component():
    """A 10 dB cosine on the mel axis of order 3: c3 differs by (10 ln10 / 20) / 2, so MCD is
    (10 sqrt2 / ln10) * 10 ln10 / 40 = 10 * sqrt2 / 4 dB on every frame (with the 1/N-scaled DCT)."""
    n_mels = 80
    k = torch.arange(n_mels, dtype=torch.float64)
    ripple = 10.0 * torch.cos(math.pi * 3 * (k + 0.5) / n_mels)
    reference = torch.randn(n_mels, 20, dtype=torch.float64) * 10 - 40
    converted = reference + ripple[:, None]
    expected = 10 * math.sqrt(2) / 4
    assert mel_cepstral_distortion(converted, reference, align=False).item() == pytest.approx(expected)
    assert mel_cepstrum(converted, 35)[3] - mel_cepstrum(reference, 35)[3] == pytest.approx(
        10 * math.log(10) / 40
    )


def test_mcd_is_invariant_to_a_time_warp():
    x, index = _warp()
    slowed = x[:, index]
    assert mel_cepstral_distortion(x, slowed).item() == pytest.approx(0.0, abs=1e-9)
    assert mel_cepstral_distortion(x, slowed[:, :25], align=False).item() > 1.0  # frame by frame it is not
    torch.manual_seed(4)
    other = torch.randn(80, 25) * 10 - 40
    plain, warped = mel_cepstral_distortion(x, other).item(), mel_cepstral_distortion(slowed, other).item()
    assert warped == pytest.approx(plain, rel=0.15)
    with pytest.raises(ValueError, match="equal shapes"):
        mel_cepstral_distortion(x, slowed, align=False)


# --- rendering converted mels with a MelGAN: rebinning voice-conversion mels into MelGAN's ---

VC_AUDIO = AudioConfig(fmin=20.0, fmax=8000.0, log="db", log_floor=1e-4)  # conf/audio/voice_conversion
MELGAN_AUDIO = AudioConfig()  # conf/audio/melgan: log10, 0..11025 Hz


def _band_centres(audio: AudioConfig) -> torch.Tensor:
    bank = mel_filterbank(audio)
    freqs = torch.linspace(0, audio.sample_rate / 2, bank.shape[1])
    return (bank * freqs).sum(1) / bank.sum(1)


def test_rebinning_gives_the_mel_the_vocoder_would_compute_in_covered_bands():
    noise = torch.randn(1, 22050, generator=torch.Generator().manual_seed(0))
    audio = torch.cumsum(0.005 * noise, -1)  # brown noise: 60 dB of spectral slope
    audio = audio - audio.mean()
    rebinned = MelRebinning(VC_AUDIO, MELGAN_AUDIO)(LogMelSpectrogram(VC_AUDIO)(audio))[0]
    direct = LogMelSpectrogram(MELGAN_AUDIO)(audio)[0]
    assert rebinned.shape == direct.shape
    centres = _band_centres(MELGAN_AUDIO)
    covered = (centres > 200) & (centres < 7000)
    # within 0.05 log10 (1 dB) on average where the source bands see the spectrum
    assert (rebinned - direct)[covered].abs().mean() < 0.05
    # above the source's 8 kHz there is nothing to render: the MelGAN's floor, log10(1e-5)
    assert torch.allclose(rebinned[centres > 8500], torch.tensor(-5.0))


def test_rebinning_to_the_same_front_end_only_changes_the_log_scale():
    mel = -80 + 80 * torch.rand(2, 80, 7)
    same_bands = dataclasses.replace(VC_AUDIO, log="log10", log_floor=1e-5)
    assert torch.allclose(MelRebinning(VC_AUDIO, same_bands)(mel), mel / 20, atol=1e-5)


@pytest.mark.parametrize("key, value", [("hop_length", 128), ("sample_rate", 16000), ("n_fft", 2048)])
def test_rebinning_refuses_mels_framed_differently(key, value):
    with pytest.raises(ValueError, match=f"{key} {value} vs"):
        MelRebinning(dataclasses.replace(VC_AUDIO, **{key: value}), MELGAN_AUDIO)
