"""BigVGAN vocoder networks (Lee, Ping, Ginsburg, Catanzaro & Yoon, ICLR 2023, arXiv 2206.04658; BigVGAN-v2,
https://github.com/NVIDIA/BigVGAN): HiFi-GAN's generator layout with anti-aliased multi-periodicity (AMP)
blocks, whose Snake / SnakeBeta activations run at twice the sample rate between kaiser-windowed sinc
filters; the discriminators beside HiFi-GAN's multi-period one: UnivNet's multi-resolution spectrogram D
(BigVGAN v1) and the multi-scale sub-band constant-Q D (v2, Gu et al. 2024, arXiv 2311.14957).

Module names follow the official code, so a released state dict loads by renaming weight norm alone. The
sizes of each release live in conf/model/bigvgan*.yaml.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.models.layers import (
    Resample,
    branch_mean,
    leaky_conv_stack,
    wn_conv1d,
    wn_conv2d,
    wn_conv_transpose1d,
)


def _same_padding(kernel_size: int, dilation: int = 1) -> int:
    return dilation * (kernel_size - 1) // 2


# ----------------------------------------------------------------------------- anti-aliased resampling
def kaiser_sinc_filter(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """A windowed-sinc low-pass filter [1, 1, kernel_size] summing to 1: ``cutoff`` and the transition band's
    ``half_width`` in cycles per sample, the Kaiser window's beta from Kaiser's formula for the attenuation
    the band and length allow (as StyleGAN3's alias-free filters, Karras et al. 2021)."""
    half = kernel_size // 2
    attenuation = 2.285 * (half - 1) * math.pi * 4 * half_width + 7.95
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(kernel_size, periodic=False, beta=beta)
    if kernel_size % 2 == 0:
        time = torch.arange(-half, half) + 0.5
    else:
        time = torch.arange(kernel_size) - half
    taps = 2 * cutoff * window * torch.sinc(2 * cutoff * time)
    return (taps / taps.sum()).view(1, 1, kernel_size)


class LowPassFilter1d(nn.Module):
    """Depthwise low-pass [B, channels, T] -> [B, channels, ceil(T / stride)], edges replicate-padded. (The
    channel count is fixed so that exporters see a filter bank of known shape.)"""

    def __init__(
        self, channels: int, cutoff: float, half_width: float, stride: int = 1, kernel_size: int = 12
    ):
        super().__init__()
        self.channels, self.stride = channels, stride
        self.pad = (kernel_size // 2 - (kernel_size % 2 == 0), kernel_size // 2)
        self.register_buffer("filter", kaiser_sinc_filter(cutoff, half_width, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.filter.to(x.dtype).expand(self.channels, -1, -1)
        return F.conv1d(F.pad(x, self.pad, mode="replicate"), taps, stride=self.stride, groups=self.channels)


class UpSample1d(nn.Module):
    """[B, channels, T] -> [B, channels, ratio * T]: zeros inserted between samples, then the low-pass at
    the old Nyquist rate (one transposed convolution), edges replicate-padded, the filter's delay cropped."""

    def __init__(self, channels: int, ratio: int = 2, kernel_size: int = 12):
        super().__init__()
        self.channels, self.ratio = channels, ratio
        self.pad = kernel_size // ratio - 1
        self.crop = (
            self.pad * ratio + (kernel_size - ratio) // 2,
            self.pad * ratio + (kernel_size - ratio + 1) // 2,
        )
        self.register_buffer("filter", kaiser_sinc_filter(0.5 / ratio, 0.6 / ratio, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.filter.to(x.dtype).expand(self.channels, -1, -1)
        x = F.pad(x, (self.pad, self.pad), mode="replicate")
        x = self.ratio * F.conv_transpose1d(x, taps, stride=self.ratio, groups=self.channels)
        return x[..., self.crop[0] : x.shape[-1] - self.crop[1]]


class DownSample1d(nn.Module):
    """[B, channels, T] -> [B, channels, T / ratio]: the low-pass at the new Nyquist rate, every ratio-th
    sample kept."""

    def __init__(self, channels: int, ratio: int = 2, kernel_size: int = 12):
        super().__init__()
        self.lowpass = LowPassFilter1d(channels, 0.5 / ratio, 0.6 / ratio, ratio, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(x)


# ----------------------------------------------------------------------------- periodic activations
class Snake(nn.Module):
    """x + sin^2(alpha x) / alpha per channel (Liu Ziyin, Hartwig & Ueda 2020, arXiv 2006.08195): a periodic
    inductive bias. ``logscale``: alpha is stored as its log (initialised to 0, i.e. alpha = 1)."""

    def __init__(self, channels: int, logscale: bool = True):
        super().__init__()
        self.logscale = logscale
        self.alpha = nn.Parameter(torch.zeros(channels) if logscale else torch.ones(channels))

    def scaled(self, parameter: torch.Tensor) -> torch.Tensor:
        """A parameter [C] as the activation uses it, [1, C, 1]: the exp of the stored log under logscale."""
        parameter = parameter[None, :, None]
        return parameter.exp() if self.logscale else parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.scaled(self.alpha)
        # the reciprocal of the small [1, C, 1] factor, then one product over x: cheaper than dividing x
        return x + torch.sin(x * alpha).pow(2) * (1.0 / (alpha + 1e-9))


class SnakeBeta(Snake):
    """x + sin^2(alpha x) / beta: Snake with the periodic part's magnitude (beta) apart from its frequency."""

    def __init__(self, channels: int, logscale: bool = True):
        super().__init__(channels, logscale)
        self.beta = nn.Parameter(torch.zeros(channels) if logscale else torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(x * self.scaled(self.alpha)).pow(2) * (1.0 / (self.scaled(self.beta) + 1e-9))


ACTIVATIONS = {"snake": Snake, "snakebeta": SnakeBeta}


class AntiAliasedActivation(nn.Module):
    """``act`` at twice the sample rate: upsample x2, activate, downsample x2, so that most of the
    activation's harmonics above the original Nyquist rate are filtered out instead of aliasing back (the
    12-tap filters are short: their transition bands are wide). [B, C, T] -> [B, C, T]."""

    # its twin on the fast inference path (audiogan.inference.fast_path)
    fast_inference_layer = "audiogan.models.bigvgan_fast:FastAntiAliasedActivation"

    def __init__(self, act: Snake, ratio: int = 2, kernel_size: int = 12):
        super().__init__()
        self.act = act
        channels = act.alpha.shape[0]
        self.upsample = UpSample1d(channels, ratio, kernel_size)
        self.downsample = DownSample1d(channels, ratio, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))


def _activations(count: int, activation: str, channels: int, logscale: bool) -> nn.ModuleList:
    if activation not in ACTIVATIONS:
        raise ValueError(f"BigVGAN activation={activation!r}; expected one of {sorted(ACTIVATIONS)}")
    return nn.ModuleList(
        AntiAliasedActivation(ACTIVATIONS[activation](channels, logscale)) for _ in range(count)
    )


# ----------------------------------------------------------------------------- generator
class AMPBlock1(nn.Module):
    """Per dilation d: x += conv_1(act(conv_d(act(x)))), each act anti-aliased; length-preserving."""

    def __init__(
        self, channels: int, kernel_size: int, dilations: Sequence[int], activation: str, logscale: bool
    ):
        super().__init__()
        self.convs1 = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size)) for _ in dilations
        )
        self.activations = _activations(2 * len(dilations), activation, channels, logscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = self.activations
        for dilated, plain, first, second in zip(
            self.convs1, self.convs2, acts[::2], acts[1::2], strict=True
        ):
            x = x + plain(second(dilated(first(x))))
        return x


class AMPBlock2(nn.Module):
    """The lighter block: per dilation d, x += conv_d(act(x))."""

    def __init__(
        self, channels: int, kernel_size: int, dilations: Sequence[int], activation: str, logscale: bool
    ):
        super().__init__()
        self.convs = nn.ModuleList(
            wn_conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.activations = _activations(len(dilations), activation, channels, logscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, act in zip(self.convs, self.activations, strict=True):
            x = x + conv(act(x))
        return x


AMP_BLOCKS = {1: AMPBlock1, 2: AMPBlock2}


class BigVGANGenerator(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, 1, frames * hop] in [-1, 1], hop = prod(upsample_rates).

    conv_pre (k7) to ``channels``; per stage a transposed conv (channels halve) and the mean of one AMP block
    per (kernel size, dilations) pair (``resblocks``, stage-major as the official code); then an anti-aliased
    activation, conv_post (k7) to one channel and tanh (``tanh_at_final``) or a clamp to [-1, 1] (v2).
    Weight norm on every conv.
    """

    def __init__(
        self,
        n_mels: int = 100,
        channels: int = 1536,
        upsample_rates: Sequence[int] = (4, 4, 2, 2, 2, 2),
        upsample_kernel_sizes: Sequence[int] = (8, 8, 4, 4, 4, 4),
        resblock: int = 1,
        resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
        resblock_dilations: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        activation: str = "snakebeta",
        snake_logscale: bool = True,
        tanh_at_final: bool = False,
        bias_at_final: bool = False,
    ):
        super().__init__()
        self.n_mels = n_mels
        self.upsample_rates = tuple(upsample_rates)
        self.kernels = len(resblock_kernel_sizes)
        self.tanh_at_final = tanh_at_final
        self.conv_pre = wn_conv1d(n_mels, channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for rate, kernel in zip(self.upsample_rates, upsample_kernel_sizes, strict=True):
            up = wn_conv_transpose1d(channels, channels // 2, kernel, rate, padding=(kernel - rate) // 2)
            self.ups.append(nn.ModuleList([up]))
            channels //= 2
            for k, d in zip(resblock_kernel_sizes, resblock_dilations, strict=True):
                self.resblocks.append(AMP_BLOCKS[resblock](channels, k, d, activation, snake_logscale))
        self.activation_post = _activations(1, activation, channels, snake_logscale)[0]
        self.conv_post = wn_conv1d(channels, 1, 7, padding=3, bias=bias_at_final)

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsample_rates)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for stage, (up,) in enumerate(self.ups):
            x = up(x)
            x = branch_mean(x, self.resblocks[stage * self.kernels : (stage + 1) * self.kernels])
        x = self.conv_post(self.activation_post(x))
        return torch.tanh(x) if self.tanh_at_final else x.clamp(-1.0, 1.0)


# ----------------------------------------------------------------------------- discriminators
class SpectrogramDiscriminator(nn.Module):
    """UnivNet's resolution branch (Jang et al. 2021, arXiv 2106.07889), as BigVGAN v1: the linear STFT
    magnitude [B, 1, n_fft / 2 + 1, frames] of audio [B, 1, T] (reflect-padded by (n_fft - hop) / 2, a
    rectangular ``win_length`` window as the official code's ``torch.stft`` without one) through 2-D convs
    striding over time. Returns every layer's output, logits last (all are matched)."""

    def __init__(self, resolution: Sequence[int], channels: int = 32, leaky_relu_slope: float = 0.1):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = (int(v) for v in resolution)
        self.slope = leaky_relu_slope
        shapes = [(1, (3, 9), 1), *[(channels, (3, 9), (1, 2))] * 3, (channels, (3, 3), 1)]
        self.convs = nn.ModuleList(
            wn_conv2d(c_in, channels, kernel, stride, padding=(kernel[0] // 2, kernel[1] // 2))
            for c_in, kernel, stride in shapes
        )
        self.conv_post = wn_conv2d(channels, 1, (3, 3), padding=(1, 1))
        self.register_buffer("window", torch.ones(self.win_length), persistent=False)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        pad = (self.n_fft - self.hop_length) // 2
        audio = F.pad(audio, (pad, pad), mode="reflect").squeeze(1)
        with torch.autocast(audio.device.type, enabled=False):
            spec = torch.stft(
                audio.float(),
                self.n_fft,
                self.hop_length,
                self.win_length,
                window=self.window,
                center=False,
                return_complex=True,
            )
            return spec.abs().to(audio.dtype)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.spectrogram(x).unsqueeze(1)
        return leaky_conv_stack(x, self.convs, self.conv_post, self.slope)


class MultiResolutionSpectrogramDiscriminator(nn.Module):
    """One :class:`SpectrogramDiscriminator` per (n_fft, hop, win) resolution (BigVGAN v1's MRD)."""

    logits_matched = True

    def __init__(self, resolutions: Sequence[Sequence[int]], channels: int = 32):
        super().__init__()
        self.branches = nn.ModuleList(SpectrogramDiscriminator(r, channels) for r in resolutions)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [branch(x) for branch in self.branches]


class CQTDiscriminator(nn.Module):
    """One scale of the sub-band CQT discriminator (Gu et al. 2024, arXiv 2311.14957): audio [B, 1, T] is
    resampled to twice its rate, its complex constant-Q transform taken (``n_octaves`` x ``bins_per_octave``
    bins, hop ``hop_length`` at the doubled rate; nnAudio's CQT2010v2, as the official code), real and
    imaginary parts as two channels; each octave gets its own 2-D conv (``conv_pres``), then the octaves,
    concatenated along frequency, go through 2-D convs dilated over time and striding over frequency.

    Returns the outputs of ``convs`` then the logits: unlike the other branches, the official code matches
    features without the logits (``logits_matched`` of :class:`MultiScaleSubbandCQTDiscriminator`).
    ``normalize_volume``: remove the DC offset and peak-normalise to 0.8 first (off in the v2 releases).
    """

    def __init__(
        self,
        sample_rate: int,
        hop_length: int,
        n_octaves: int,
        bins_per_octave: int,
        filters: int = 32,
        max_filters: int = 1024,
        filters_scale: int = 1,
        dilations: Sequence[int] = (1, 2, 4),
        normalize_volume: bool = False,
        leaky_relu_slope: float = 0.1,
    ):
        super().__init__()
        from nnAudio.features.cqt import CQT2010v2  # imported when built: it takes seconds

        self.n_octaves, self.bins_per_octave = n_octaves, bins_per_octave
        self.normalize_volume = normalize_volume
        self.slope = leaky_relu_slope
        self.cqt_transform = CQT2010v2(
            sr=2 * sample_rate,
            hop_length=hop_length,
            n_bins=n_octaves * bins_per_octave,
            bins_per_octave=bins_per_octave,
            output_format="Complex",
            pad_mode="constant",
            verbose=False,
        )
        kernel = (3, 9)
        padding = (1, 4)
        self.conv_pres = nn.ModuleList(nn.Conv2d(2, 2, kernel, padding=padding) for _ in range(n_octaves))
        widths = [min(filters_scale**i * filters, max_filters) for i in range(len(dilations) + 2)]
        convs = [nn.Conv2d(2, filters, kernel, padding=padding)]
        for i, dilation in enumerate(dilations):
            convs.append(
                wn_conv2d(
                    widths[i],
                    widths[i + 1],
                    kernel,
                    stride=(1, 2),
                    dilation=(dilation, 1),
                    padding=(dilation, 4),
                )
            )
        convs.append(wn_conv2d(widths[-2], widths[-1], (3, 3), padding=(1, 1)))
        self.convs = nn.ModuleList(convs)
        self.conv_post = wn_conv2d(widths[-1], 1, (3, 3), padding=(1, 1))
        self.resample = Resample(sample_rate, 2 * sample_rate)

    def transform(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, 1, T] -> its CQT [B, 2 (real, imaginary), frames, bins], in float32."""
        with torch.autocast(audio.device.type, enabled=False):
            audio = audio.float()
            if self.normalize_volume:
                audio = audio - audio.mean(dim=-1, keepdim=True)
                audio = 0.8 * audio / (audio.abs().amax(dim=-1, keepdim=True) + 1e-9)
            cqt = self.cqt_transform(self.resample(audio))  # [B, bins, frames, 2]
            return cqt.permute(0, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        z = self.transform(x).to(x.dtype)
        octaves = z.split(self.bins_per_octave, dim=-1)
        x = torch.cat([conv(octave) for conv, octave in zip(self.conv_pres, octaves, strict=True)], dim=-1)
        return leaky_conv_stack(x, self.convs, self.conv_post, self.slope)


class MultiScaleSubbandCQTDiscriminator(nn.Module):
    """One :class:`CQTDiscriminator` per (hop, octaves, bins per octave) (BigVGAN-v2's CQT-D)."""

    logits_matched = False

    def __init__(
        self,
        sample_rate: int,
        hop_lengths: Sequence[int] = (512, 256, 256),
        n_octaves: Sequence[int] = (9, 9, 9),
        bins_per_octaves: Sequence[int] = (24, 36, 48),
        **scale: int | Sequence[int] | bool,
    ):
        super().__init__()
        self.branches = nn.ModuleList(
            CQTDiscriminator(sample_rate, hop, octaves, bins, **scale)
            for hop, octaves, bins in zip(hop_lengths, n_octaves, bins_per_octaves, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [branch(x) for branch in self.branches]


class BigVGANDiscriminator(nn.Module):
    """HiFi-GAN's multi-period D (``mpd``) and a spectral D (``mrd``: the v1 multi-resolution or the v2 CQT
    one) as one multi-branch D: audio [B, 1, T] -> per branch (MPD's first) its feature maps, logits last.

    :meth:`matched_features` gives what feature matching compares, as the official code does; the two parts
    are separate modules so their gradient norms can be clipped apart (``optim.grad_clip``). Real and fake
    are scored in separate passes, as the official code.
    """

    separate_passes = True

    def __init__(self, mpd: nn.Module, mrd: nn.Module):
        super().__init__()
        self.mpd, self.mrd = mpd, mrd

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return self.mpd(x) + self.mrd(x)

    def matched_features(self, branches: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
        """Each branch's entries that feature matching compares: all of the MPD's (logits included), the
        spectral D's with or without its logits as its ``logits_matched`` says."""
        periods = len(self.mpd.branches)
        keep_last = getattr(self.mrd, "logits_matched", True)
        return branches[:periods] + [branch if keep_last else branch[:-1] for branch in branches[periods:]]
