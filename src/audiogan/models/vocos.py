"""Vocos (Siuzdak 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders for
high-quality audio synthesis", arXiv 2306.00814; https://github.com/gemelo-ai/vocos): a ConvNeXt backbone
that keeps the frame rate, a head that predicts the STFT's log-magnitude and phase of every frame, and one
inverse STFT. No upsampling layer: most of the work runs at 1/hop of the sample rate, hence its speed.

The discriminators are Vocos's: HiFi-GAN's multi-period D and a multi-resolution complex-spectrogram D with
frequency sub-bands (as in the Descript audio codec, Kumar et al. 2023, arXiv 2306.06546).

Module names (``backbone.embed``, ``backbone.convnext.<i>.dwconv``, ``head.out``, ...) are those of the
official release, so its weights load by prefix (:mod:`audiogan.tasks.vocos_release`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from audiogan.models.layers import wn_conv2d

PADDINGS = ("center", "same")


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block in 1-D (Liu et al. 2022, arXiv 2201.03545): depthwise k7 conv, LayerNorm, pointwise
    expansion to ``intermediate_dim`` with GELU and back, scaled by a learned per-channel ``gamma``
    (initialised to ``layer_scale``), added to the input. [B, dim, frames] -> same."""

    def __init__(self, dim: int, intermediate_dim: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x).transpose(1, 2))
        y = self.gamma * self.pwconv2(F.gelu(self.pwconv1(y)))
        return x + y.transpose(1, 2)


class VocosBackbone(nn.Module):
    """Features [B, input_channels, frames] -> hidden states [B, frames, dim]: a k7 conv embedding, LayerNorm,
    ``num_layers`` ConvNeXt blocks, a final LayerNorm. Convolutions and linear layers start from a truncated
    normal (std 0.02) with zero biases, as the official code; the layer scale from 1 / num_layers."""

    def __init__(self, input_channels: int, dim: int, intermediate_dim: int, num_layers: int):
        super().__init__()
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, layer_scale=1.0 / num_layers) for _ in range(num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.embed(features).transpose(1, 2)).transpose(1, 2)
        for block in self.convnext:
            x = block(x)
        return self.final_layer_norm(x.transpose(1, 2))


def _trim(n_fft: int, hop_length: int, padding: str) -> int:
    """Samples an inverse STFT drops at each end: n_fft / 2 for centred frames, (n_fft - hop) / 2 for
    "same"."""
    if padding not in PADDINGS:
        raise ValueError(f"padding={padding!r}; expected one of {PADDINGS}")
    return n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2


class InverseSTFT(nn.Module):
    """STFT magnitude and phase [B, n_fft / 2 + 1, frames] -> waveform [B, samples], Hann window of n_fft,
    in float32 whatever the autocast dtype.

    ``padding="center"``: torch.istft with centred frames, (frames - 1) * hop samples (the framing of
    ``torch.stft(center=True)``); ``"same"``: overlap-add trimmed by (n_fft - hop) / 2 on each side, frames *
    hop samples, normalised by the summed squared window (torch.istft refuses this trim: its envelope check
    fails at the edges).
    """

    def __init__(self, n_fft: int, hop_length: int, padding: str = "center"):
        super().__init__()
        self.n_fft, self.hop_length, self.padding = n_fft, hop_length, padding
        self.trim = _trim(n_fft, hop_length, padding)
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        with torch.autocast(magnitude.device.type, enabled=False):  # complex and FFT want float32
            return self._inverse(magnitude.float(), phase.float())

    def _inverse(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        if self.padding == "center":
            return torch.istft(spec, self.n_fft, self.hop_length, self.n_fft, self.window, center=True)
        frames = torch.fft.irfft(spec, self.n_fft, dim=1) * self.window[:, None]
        count = frames.shape[2]
        length = (count - 1) * self.hop_length + self.n_fft
        fold = dict(output_size=(1, length), kernel_size=(1, self.n_fft), stride=(1, self.hop_length))
        audio = F.fold(frames, **fold)[:, 0, 0]
        envelope = F.fold(self.window.square()[None, :, None].expand(1, -1, count), **fold)[0, 0, 0]
        end = length - self.trim
        return audio[:, self.trim : end] / envelope[self.trim : end]


class DFTInverseSTFT(nn.Module):
    """:class:`InverseSTFT` from real-valued operations that ONNX and TorchScript export: the inverse real DFT
    of every frame times the window as one transposed convolution (stride hop) over the real and imaginary
    parts, divided by the overlap-added squared window. Same input, output and trim; slower than the FFT
    (n_fft x (n_fft + 2) multiply-adds per frame), so export only uses it."""

    def __init__(self, n_fft: int, hop_length: int, padding: str = "center"):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.trim = _trim(n_fft, hop_length, padding)
        window = torch.hann_window(n_fft, dtype=torch.float64)
        bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        angle = 2 * torch.pi * bins * torch.arange(n_fft, dtype=torch.float64) / n_fft
        # irfft: DC and Nyquist once, the other bins twice (their mirror images); their imaginary parts unused
        weight = torch.full_like(bins, 2.0)
        weight[0] = weight[-1] = 1.0
        real = weight * torch.cos(angle) / n_fft
        imag = -weight * torch.sin(angle) / n_fft
        imag[0] = imag[-1] = 0.0
        basis = torch.cat([real, imag]) * window  # [2 (n_fft / 2 + 1), n_fft]
        self.register_buffer("basis", basis[:, None, :].float())
        self.register_buffer("window_square", window.square()[None, None, :].float())

    @classmethod
    def like(cls, istft: InverseSTFT) -> DFTInverseSTFT:
        return cls(istft.n_fft, istft.hop_length, istft.padding).to(istft.window.device)

    def forward(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        parts = torch.cat([magnitude * torch.cos(phase), magnitude * torch.sin(phase)], dim=1)
        audio = F.conv_transpose1d(parts, self.basis, stride=self.hop_length)[:, 0]
        ones = torch.ones_like(parts[:1, :1])
        envelope = F.conv_transpose1d(ones, self.window_square, stride=self.hop_length)[0, 0]
        end = audio.shape[-1] - self.trim
        return audio[:, self.trim : end] / envelope[self.trim : end]


class ISTFTHead(nn.Module):
    """Hidden states [B, frames, dim] -> waveform [B, samples]: a linear layer to n_fft + 2 values per frame,
    the first half a log-magnitude (exp, clipped at 100), the second a phase; then :class:`InverseSTFT`."""

    def __init__(self, dim: int, n_fft: int, hop_length: int, padding: str = "center"):
        super().__init__()
        self.out = nn.Linear(dim, n_fft + 2)
        self.istft = InverseSTFT(n_fft, hop_length, padding)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        log_magnitude, phase = self.out(hidden).transpose(1, 2).chunk(2, dim=1)
        return self.istft(torch.exp(log_magnitude).clip(max=1e2), phase)


class VocosGenerator(nn.Module):
    """Log-mel [B, n_mels, frames] -> waveform [B, 1, samples]: :class:`VocosBackbone`, then
    :class:`ISTFTHead`.

    With centred framing (the mel release) F frames give (F - 1) * hop samples, so T samples in ->
    T // hop + 1 frames -> (T // hop) * hop samples out. ``hop_length`` must be the front-end's.
    """

    def __init__(
        self,
        n_mels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        n_fft: int,
        hop_length: int,
        padding: str = "center",
    ):
        super().__init__()
        self.n_mels, self.hop_length = n_mels, hop_length
        self.backbone = VocosBackbone(n_mels, dim, intermediate_dim, num_layers)
        self.head = ISTFTHead(dim, n_fft, hop_length, padding)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(mel)).unsqueeze(1)


def exportable(generator: VocosGenerator) -> VocosGenerator:
    """``generator`` with its inverse STFT built from exportable operations (:class:`DFTInverseSTFT`), in
    place; returns it."""
    generator.head.istft = DFTInverseSTFT.like(generator.head.istft)
    return generator


class ComplexSpectrogram(nn.Module):
    """Waveform [B, T] -> complex STFT [B, n_fft / 2 + 1, frames] (periodic Hann window of ``n_fft``, centred
    with reflection, no normalisation): torchaudio's ``Spectrogram(power=None)``, whose ``window`` buffer it
    keeps, computed by ``torch.stft`` directly (torchaudio's argument checks break a torch.compile graph)."""

    def __init__(self, n_fft: int, hop_length: int):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stft(
            x, self.n_fft, self.hop_length, window=self.window, center=True, pad_mode="reflect",
            return_complex=True,
        )  # fmt: skip


class ResolutionDiscriminator(nn.Module):
    """One MRD branch: the complex STFT (window ``n_fft``, hop n_fft / 4, centred) of the waveform with its DC
    offset removed and its peak set to 0.8, as [B, 2 (re, im), frames, bins], split into frequency ``bands``
    (fractions of the bins); each band through its own stack of weight-normed 2-D convs (frequency stride
    2), the bands joined along frequency, then a 3x3 conv to one logit map.

    Returns the feature maps of every band's convs after the first (the official code matches no
    first-layer output), then the logits [B, 1, frames, bins'].
    """

    def __init__(
        self,
        n_fft: int,
        channels: int = 32,
        bands: Sequence[Sequence[float]] = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)),
        leaky_relu_slope: float = 0.1,
    ):
        super().__init__()
        self.spectrogram = ComplexSpectrogram(n_fft, n_fft // 4)
        bins = n_fft // 2 + 1
        self.bands = [(int(low * bins), int(high * bins)) for low, high in bands]
        self.slope = leaky_relu_slope

        def stack() -> nn.ModuleList:
            c = channels
            return nn.ModuleList(
                [
                    wn_conv2d(2, c, (3, 9), (1, 1), padding=(1, 4)),
                    wn_conv2d(c, c, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(c, c, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(c, c, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(c, c, (3, 3), (1, 1), padding=(1, 1)),
                ]
            )

        self.band_convs = nn.ModuleList(stack() for _ in self.bands)
        self.conv_post = wn_conv2d(channels, 1, (3, 3), (1, 1), padding=(1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.squeeze(1)
        x = x - x.mean(dim=-1, keepdim=True)
        x = 0.8 * x / (x.abs().amax(dim=-1, keepdim=True) + 1e-9)
        with torch.autocast(x.device.type, enabled=False):
            spec = torch.view_as_real(self.spectrogram(x.float())).permute(0, 3, 2, 1)  # [B, 2, frames, bins]
        features, outputs = [], []
        for (low, high), convs in zip(self.bands, self.band_convs, strict=True):
            band = spec[..., low:high]
            for i, conv in enumerate(convs):
                band = F.leaky_relu(conv(band), self.slope)
                if i > 0:
                    features.append(band)
            outputs.append(band)
        features.append(self.conv_post(torch.cat(outputs, dim=-1)))
        return features


class MultiResolutionDiscriminator(nn.Module):
    """One :class:`ResolutionDiscriminator` per STFT size (officially 2048, 1024, 512)."""

    def __init__(self, fft_sizes: Sequence[int] = (2048, 1024, 512), channels: int = 32):
        super().__init__()
        self.branches = nn.ModuleList(ResolutionDiscriminator(n, channels) for n in fft_sizes)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [branch(x) for branch in self.branches]


class VocosDiscriminator(nn.Module):
    """The multi-period D (``mpd``, HiFi-GAN's) and the multi-resolution D (``mrd``) as one multi-branch D:
    waveform [B, 1, T] -> per branch (MPD's first, then MRD's) its feature maps, logits last.

    Feature maps are those the official code matches: an MPD branch's first conv output is left out, as
    the MRD leaves out each band's first. ``groups``: (name, branch count) of each, in order, so the task
    can weigh them apart (Vocos: MRD terms x0.1). Real and fake are scored in separate passes
    (``joint_pass``), as the official code does.
    """

    separate_passes = True

    def __init__(self, mpd: nn.Module, mrd: nn.Module):
        super().__init__()
        self.mpd, self.mrd = mpd, mrd
        self.groups = (("mpd", len(mpd.branches)), ("mrd", len(mrd.branches)))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [branch[1:] for branch in self.mpd(x)] + self.mrd(x)
