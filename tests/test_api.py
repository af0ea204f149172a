"""The README's Python API snippet runs as written, on checkpoints of every family it names."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from conftest import ROOT

from audiogan.api import Audio

pytestmark = pytest.mark.slow  # it loads runs trained through train.py


def readme_snippet(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(heading) :], flags=re.S).group(1)


def test_readme_python_api_snippet_runs(smoke_run):
    code = readme_snippet("## Python API")
    for family in ("melgan", "hifigan_denoise", "voice_conversion", "specgan"):
        code = code.replace(
            f'"runs/{family}/checkpoints/last.ckpt"',
            repr(str(smoke_run(family) / "checkpoints" / "last.ckpt")),
        )
    assert '"runs/' not in code  # every path of the snippet points at a real checkpoint
    t = np.arange(16000 // 2)
    speech = (0.3 * np.sin(2 * np.pi * 200 * t / 16000)).astype(np.float32)  # 0.5 s at 16 kHz
    noisy_speech = torch.randn(2, 44100 // 4) * 0.1  # a batch of two 0.25 s clips at 44.1 kHz
    scope = {"speech": speech, "noisy_speech": noisy_speech}
    exec(compile(code, "README.md", "exec"), scope)
    vocoder_rate = scope["vocoder"].sample_rate
    assert scope["resynthesised"].sample_rate == vocoder_rate
    assert scope["resynthesised"].waveform.shape == (round(0.5 * vocoder_rate),)  # as long as the input
    assert scope["audio"].waveform.shape == (scope["mel"].shape[-1] * 256,)  # frames x hop samples
    assert isinstance(scope["enhanced"], Audio) and scope["enhanced"].waveform.shape == (2, 4000)  # 16 kHz
    assert scope["converted"].waveform.shape == (round(0.5 * scope["converter"].sample_rate),)
    assert scope["digits"].waveform.shape == (16, 16384) and scope["digits"].sample_rate == 16000
    for name in ("audio", "resynthesised", "enhanced", "converted", "digits"):
        assert torch.isfinite(scope[name].waveform).all(), name
