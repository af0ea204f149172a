"""The one audio front-end description shared by data, models and losses."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

LOG_SCALES = ("log10", "ln", "db")


@dataclass(frozen=True)
class AudioConfig:
    """Sample rate and STFT / mel settings.

    Hydra holds one ``audio`` node; data, model and loss configs point at it by interpolation,
    and code turns it into this dataclass with :meth:`from_config`, so no two places can disagree.
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
    log: str = "log10"
    log_floor: float = 1e-5
    griffin_lim_iters: int = 32

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

    @property
    def mel_fmax(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.sample_rate / 2

    def __post_init__(self) -> None:
        if self.log not in LOG_SCALES:
            raise ValueError(f"audio.log={self.log!r}; expected one of {LOG_SCALES}")
        if self.win_length > self.n_fft:
            raise ValueError(f"audio.win_length={self.win_length} exceeds audio.n_fft={self.n_fft}")
