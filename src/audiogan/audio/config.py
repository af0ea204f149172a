"""The one audio front-end description shared by data, models and losses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

LOG_SCALES = ("log10", "ln", "db")
FILTERBANKS = ("librosa", "torchaudio")


@dataclass(frozen=True)
class AudioConfig:
    """Sample rate and STFT / mel settings: everything that makes one recipe's log-mel differ from another's.

    Hydra holds one ``audio`` node (``audio=<front-end>``); data, model and loss configs point at it by
    interpolation, and code turns it into this dataclass with :meth:`from_config`, so no two places can
    disagree. ``center``: False frames the waveform reflect-padded by (n_fft - hop) / 2 on each side (T // hop
    frames, as MelGAN and HiFi-GAN), True centres frame i on sample i * hop (T // hop + 1 frames, as
    ``torch.stft(center=True)``). ``mel_scale`` slaney|htk and ``mel_norm`` slaney|None pick the filterbank;
    ``filterbank`` names whose formula computes those bands: "librosa" (``librosa.filters.mel``, as MelGAN,
    HiFi-GAN and BigVGAN) or "torchaudio" (``melscale_fbanks``, as Vocos); they differ by up to 7e-8
    (Slaney) and 5e-6 (HTK); configs of 0.1, which name none, had torchaudio's. ``magnitude_eps`` is added
    under the magnitude's square root, sqrt(re^2 + im^2 + eps) (HiFi-GAN: 1e-9; it lifts silent bins to
    3e-5, above the log floor).
    ``log`` (log10, ln, db) and ``log_floor`` (clamp of the magnitude mel before the log) the compression.
    ``loss_mel``: where a recipe's mel loss uses other settings than its input mel (HiFi-GAN: the
    full band), those settings ({key: value}); :meth:`loss_front_end` applies them.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    filterbank: str = "torchaudio"
    magnitude_eps: float = 0.0
    log: str = "log10"
    log_floor: float = 1e-5
    griffin_lim_iters: int = 32
    center: bool = False
    loss_mel: Mapping[str, Any] | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> AudioConfig:
        """Build from a DictConfig / dict, rejecting unknown keys by name."""
        if isinstance(cfg, AudioConfig):
            return cfg
        data = dict(cfg.items()) if hasattr(cfg, "items") else dict(cfg)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"audio config: unknown key(s) {unknown}; expected some of {sorted(known)}")
        return cls(**data)

    def loss_front_end(self) -> AudioConfig:
        """The front-end of the recipe's mel loss: this one with ``loss_mel``'s settings."""
        return replace(self, **dict(self.loss_mel or {}), loss_mel=None)

    def frames(self, samples: int) -> int:
        """How many log-mel frames ``samples`` samples give."""
        return samples // self.hop_length + (1 if self.center else 0)

    @property
    def mel_fmax(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.sample_rate / 2

    def __post_init__(self) -> None:
        if self.filterbank not in FILTERBANKS:
            raise ValueError(f"audio.filterbank={self.filterbank!r}; expected one of {FILTERBANKS}")
        if self.log not in LOG_SCALES:
            raise ValueError(f"audio.log={self.log!r}; expected one of {LOG_SCALES}")
        if self.win_length > self.n_fft:
            raise ValueError(f"audio.win_length={self.win_length} exceeds audio.n_fft={self.n_fft}")
        settings = {f.name for f in fields(self)} - {"loss_mel"}
        unknown = sorted(set(self.loss_mel or {}) - settings)
        if unknown:
            raise ValueError(
                f"audio.loss_mel: unknown key(s) {unknown}; expected front-end keys such as fmax"
            )
