"""Su, Jin & Finkelstein 2020 "HiFi-GAN" denoiser networks (arXiv 2006.05694), 16 kHz waveforms.

The paper's code is not public; sizes follow the unofficial implementations that quote it, chiefly
https://github.com/w-transposed-x/hifi-gan-denoising, with the deviations documented on each class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from audiogan.audio.config import AudioConfig
from audiogan.audio.features import LogMelSpectrogram
from audiogan.models.layers import Resample
from audiogan.models.melgan import ScaleDiscriminator


class _GatedResidualLayer(nn.Module):
    """Dilated conv -> tanh * sigmoid gate -> 1x1 skip output and (unless last) 1x1 residual update.

    The last layer of the network has no residual conv: its output would feed nothing and never train.
    """

    def __init__(self, channels: int, skip_channels: int, kernel_size: int, dilation: int, residual: bool):
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.dilated = nn.Conv1d(channels, 2 * channels, kernel_size, padding=pad, dilation=dilation)
        self.skip = nn.Conv1d(channels, skip_channels, 1)
        self.residual = nn.Conv1d(channels, channels, 1) if residual else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        filt, gate = self.dilated(x).chunk(2, dim=1)
        h = torch.tanh(filt) * torch.sigmoid(gate)
        return (x + self.residual(h) if self.residual is not None else None), self.skip(h)


class WaveNet(nn.Module):
    """Non-causal feed-forward WaveNet (Rethage et al. 2018): waveform [B, 1, T] -> waveform [B, 1, T].

    Zero 'same' padding everywhere, so any T works and output sample t sees inputs t - R//2 .. t + R//2
    (R = ``receptive_field``). One pass predicts every sample (no target-field slicing).

    Head: ReLU(skip sum) -> conv k3 -> 2048 -> ReLU -> conv k3 -> 256 -> ReLU -> 1x1 -> 1, the Rethage head
    that w-transposed-x uses, which gives the published WaveNet size (the counts: conf/model/hifigan_denoise).
    A ReLU before the last 1x1 (w-transposed-x has none, which makes its last two convs one factorised
    linear map) keeps the 256-wide layer a real one.
    """

    def __init__(
        self,
        stacks: int = 2,
        layers_per_stack: int = 10,
        kernel_size: int = 3,
        channels: int = 128,
        skip_channels: int = 128,
        head_channels: Sequence[int] = (2048, 256),
        head_kernel_size: int = 3,
    ):
        super().__init__()
        if kernel_size % 2 == 0 or head_kernel_size % 2 == 0:
            raise ValueError("WaveNet kernel sizes must be odd for symmetric 'same' padding")
        self.dilations = [2**i for _ in range(stacks) for i in range(layers_per_stack)]
        self.kernel_size = kernel_size
        self.head_kernel_size = head_kernel_size
        self.input = nn.Conv1d(1, channels, 1)
        self.layers = nn.ModuleList(
            _GatedResidualLayer(channels, skip_channels, kernel_size, d, residual=i < len(self.dilations) - 1)
            for i, d in enumerate(self.dilations)
        )
        head: list[nn.Module] = [nn.ReLU()]
        width = skip_channels
        for out in head_channels:
            head += [nn.Conv1d(width, out, head_kernel_size, padding=head_kernel_size // 2), nn.ReLU()]
            width = out
        head.append(nn.Conv1d(width, 1, 1))
        self.head = nn.Sequential(*head)

    @property
    def receptive_field(self) -> int:
        """Input samples one output sample depends on: the dilated stack's 1 + sum(d * (k - 1)) (4093 at
        the defaults, ~256 ms at 16 kHz) plus (k - 1) per head conv (4097 in all)."""
        head_convs = sum(isinstance(m, nn.Conv1d) and m.kernel_size[0] > 1 for m in self.head)
        stack = sum(d * (self.kernel_size - 1) for d in self.dilations)
        return 1 + stack + head_convs * (self.head_kernel_size - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input(x)
        skips = 0
        for layer in self.layers:
            h, skip = layer(h)
            skips = skips + skip
        return self.head(skips)


class Postnet(nn.Module):
    """Residual conv postnet: waveform [B, 1, T] -> waveform + correction [B, 1, T].

    12 convs of 128 channels and kernel 32 (the paper's "kernel length 32", as Sundsturm/HiFi-GAN_STEIITB14
    quotes it), tanh after each but the last; the even kernel is padded (15, 16) zeros, so any T keeps its
    length. Unlike w-transposed-x (tanh after all 12, output replacing the input; the paper's choice is not
    public) the last layer is linear and added to the input, as Tacotron 2's postnet (Shen et al. 2018):
    the trained stage-1 WaveNet output stays reachable (a zero last layer), which a final tanh would rule out.
    The last layer starts at zero, so stage 2 starts exactly where stage 1 ended: with a random last layer
    the untrained postnet's correction cost the denoised speech about 5 dB of SI-SDR at the start of stage 2.
    """

    def __init__(self, layers: int = 12, channels: int = 128, kernel_size: int = 32):
        super().__init__()
        widths = [1] + [channels] * (layers - 1) + [1]
        modules: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            modules += [nn.ConstantPad1d(((kernel_size - 1) // 2, kernel_size // 2), 0.0)]
            modules += [nn.Conv1d(c_in, c_out, kernel_size)]
            if i < layers - 1:
                modules.append(nn.Tanh())
        self.net = nn.Sequential(*modules)
        nn.init.zeros_(modules[-1].weight)
        nn.init.zeros_(modules[-1].bias)
        self.receptive_field = 1 + layers * (kernel_size - 1)
        self.reach = layers * (kernel_size // 2)  # the longer side of each even kernel's padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class DenoisingGenerator(nn.Module):
    """WaveNet followed by the postnet; ``use_postnet`` switches the postnet off for training stage 1.

    The postnet is always built so checkpoints keep the same keys across stages; stages freeze or unfreeze
    ``.wavenet`` / ``.postnet`` (and set ``use_postnet``) themselves.
    """

    def __init__(
        self,
        wavenet: Mapping | None = None,
        postnet: Mapping | None = None,
        use_postnet: bool = True,
    ):
        super().__init__()
        self.wavenet = WaveNet(**(wavenet or {}))
        self.postnet = Postnet(**(postnet or {}))
        self.use_postnet = use_postnet

    @property
    def receptive_field(self) -> int:
        """Input samples that one output sample depends on, with the postnet as currently switched."""
        postnet = self.postnet.receptive_field - 1 if self.use_postnet else 0
        return self.wavenet.receptive_field + postnet

    @property
    def reach(self) -> int:
        """How far, in samples to either side, an output sample sees: the WaveNet's half field (symmetric)
        plus the postnet's longer side (its even kernels pad one more sample ahead than behind)."""
        return (self.wavenet.receptive_field - 1) // 2 + (self.postnet.reach if self.use_postnet else 0)

    def forward(self, noisy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """noisy [B, 1, T] -> (WaveNet output, final output), both [B, 1, T]; equal with the postnet off."""
        out = self.wavenet(noisy)
        return out, (self.postnet(out) if self.use_postnet else out)


class MultiRateWaveformDiscriminator(nn.Module):
    """One MelGAN scale discriminator per sample rate, each on the input resampled to its rate.

    Resampling kernels are buffers of ``Resample`` submodules (torchaudio's), so they follow ``.to(device)``
    (the process-wide cache of ``audiogan.audio.io.resample`` holds CPU kernels).
    With ``global_pool`` each logit map [B, 1, T'] is averaged over time to [B, 1] (the paper figure's
    global average pooling); the feature maps are returned unpooled for feature matching.
    """

    def __init__(
        self,
        rates: Sequence[int] = (16000, 8000, 4000),
        sample_rate: int = 16000,
        ndf: int = 16,
        n_layers: int = 4,
        downsampling_factor: int = 4,
        leaky_relu_slope: float = 0.2,
        global_pool: bool = True,
    ):
        super().__init__()
        self.rates = tuple(int(r) for r in rates)
        self.global_pool = global_pool
        self.resamplers = nn.ModuleList(
            nn.Identity() if rate == sample_rate else Resample(sample_rate, rate) for rate in self.rates
        )
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(ndf, n_layers, downsampling_factor, leaky_relu_slope) for _ in self.rates
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """x [B, 1, T] -> per rate: feature maps [B, C, T'], then logits ([B, 1] pooled, else [B, 1, T'])."""
        outputs = []
        for resample, disc in zip(self.resamplers, self.discriminators, strict=True):
            features = disc(resample(x))
            if self.global_pool:
                features[-1] = features[-1].mean(dim=-1)
            outputs.append(features)
        return outputs


class _GatedConv2dBlock(nn.Module):
    """Conv2d (no bias: BatchNorm follows) -> BatchNorm2d -> GLU over channels (StarGAN-VC block)."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int]):
        super().__init__()
        padding = ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
        self.conv = nn.Conv2d(c_in, 2 * c_out, kernel, stride, padding, bias=False)
        self.norm = nn.BatchNorm2d(2 * c_out)
        self.glu = nn.GLU(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.glu(self.norm(self.conv(x)))


class MelSpectrogramDiscriminator(nn.Module):
    """StarGAN-VC style discriminator on the log-mel of a waveform (the paper's D_S; Kameoka et al. 2018).

    The log-mel [B, 1, n_mels, frames] (float32, ``LogMelSpectrogram``) goes through gated conv blocks that
    stride over time only, then a conv spanning the whole remaining frequency axis (StarGAN-VC's final
    conv covers its 36 features; w-transposed-x keeps that literal (36, 5) kernel for 80 mels), then global
    average pooling. Returns [block outputs..., logits [B, 1]], the convention of one MelGAN scale.
    Inputs need more than (n_fft - hop) / 2 samples (reflection padding) and at least one hop.
    """

    def __init__(
        self,
        n_mels: int = 80,
        channels: int = 32,
        kernels: Sequence[Sequence[int]] = ((3, 9), (3, 8), (3, 8), (3, 6)),
        stride: Sequence[int] = (1, 2),
        sample_rate: int = 16000,
        n_fft: int = 2048,
        hop_length: int = 512,
        fmin: float = 20.0,
        fmax: float = 8000.0,
        final_kernel_time: int = 5,
    ):
        super().__init__()
        audio = AudioConfig(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            win_length=n_fft,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
        )
        self.log_mel = LogMelSpectrogram(audio)
        stride = (int(stride[0]), int(stride[1]))
        blocks = []
        c_in, height = 1, n_mels
        for kernel in kernels:
            kernel = (int(kernel[0]), int(kernel[1]))
            blocks.append(_GatedConv2dBlock(c_in, channels, kernel, stride))
            c_in = channels
            height = (height + 2 * ((kernel[0] - 1) // 2) - kernel[0]) // stride[0] + 1
        self.blocks = nn.ModuleList(blocks)
        self.final = nn.Conv2d(channels, 1, (height, final_kernel_time), padding=(0, final_kernel_time // 2))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 1, T] -> [block outputs [B, channels, n_mels', frames'] ..., logits [B, 1]]."""
        h = self.log_mel(x).unsqueeze(1)
        features = []
        for block in self.blocks:
            h = block(h)
            features.append(h)
        features.append(self.final(h).mean(dim=(-2, -1)))
        return features


class DenoisingDiscriminators(nn.Module):
    """The paper's four discriminators: waveform D at each rate, then the mel-spectrogram D.

    ``forward`` returns one feature list per discriminator (3 + 1 by default), each ending with its
    logits, so losses treat them uniformly.
    """

    def __init__(self, sample_rate: int = 16000, waveform: Mapping | None = None, mel: Mapping | None = None):
        super().__init__()
        self.waveform = MultiRateWaveformDiscriminator(sample_rate=sample_rate, **(waveform or {}))
        self.mel = MelSpectrogramDiscriminator(sample_rate=sample_rate, **(mel or {}))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [*self.waveform(x), self.mel(x)]
