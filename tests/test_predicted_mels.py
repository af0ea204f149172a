"""Fine-tuning data: mels a TTS model predicted for the recordings (HiFi-GAN's ``--input_mels_dir``), one
voice of a corpus (``data.speakers``), and the vocoder taking the given mel as its input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import fitted_datamodule, smoke

from audiogan.commands.train import build_task
from audiogan.data.corpora.base import SplitUnavailableError, Utterance
from audiogan.data.datasets import WaveformSegments

HOP = 256


@pytest.fixture
def recordings(tmp_path):
    """Two wavs, and in mels/ their "predicted" mels whose every value is its frame's index."""
    rng = np.random.default_rng(0)
    (tmp_path / "mels").mkdir()
    utterances = []
    for name, frames in (("a", 40), ("b", 5)):  # b is shorter than a segment
        audio = (rng.uniform(-0.5, 0.5, frames * HOP)).astype(np.float32)
        sf.write(tmp_path / f"{name}.wav", audio, 22050, subtype="FLOAT")
        mel = np.tile(np.arange(frames, dtype=np.float32), (80, 1))
        np.save(tmp_path / "mels" / f"{name}.npy", mel[None])  # [1, n_mels, frames] is read too
        utterances.append(Utterance(tmp_path / f"{name}.wav", "s", "", name))
    return tmp_path, utterances


def segments(utterances, mels, **options):
    defaults = {"segment_length": 8 * HOP, "peak": None, "gain_range": None, "hop_length": HOP}
    return WaveformSegments(utterances, 22050, predicted_mels=mels, **{**defaults, **options})


def test_a_segment_takes_the_mel_frames_and_the_samples_they_cover(recordings):
    folder, utterances = recordings
    dataset = segments(utterances, str(folder / "mels"))
    recorded, _ = sf.read(folder / "a.wav", dtype="float32")
    for seed in range(5):
        item = dataset[(0, seed)]
        start = int(item["mel"][0, 0])
        assert item["mel"].shape == (80, 8) and item["mel"][0].tolist() == list(range(start, start + 8))
        np.testing.assert_array_equal(item["audio"].numpy(), recorded[start * HOP : (start + 8) * HOP])
    short = dataset[(1, 0)]  # 5 frames: padded to 8, audio and mel alike
    assert short["mel"][0].tolist() == [0, 1, 2, 3, 4, 0, 0, 0]
    assert short["audio"].shape == (8 * HOP,) and not short["audio"][5 * HOP :].any()


def test_predicted_mels_need_the_audio_as_recorded_and_every_file(recordings):
    folder, utterances = recordings
    with pytest.raises(ValueError, match=r"predicted for the audio as recorded; set .*peak=null"):
        segments(utterances, str(folder / "mels"), peak=0.95)
    with pytest.raises(FileNotFoundError, match=r"predicted mel not found: .*a\.npy"):
        segments(utterances, "beside")[(0, 0)]


def test_the_vocoder_takes_the_given_mel_and_scores_the_audios_own(compose_cfg):
    task = build_task(compose_cfg(*smoke("melgan")))
    audio, mel = torch.randn(2, 2048) * 0.1, torch.zeros(2, 80, 8)
    generated = task.generate({"audio": audio, "mel": mel})
    assert generated["mel"] is mel
    fake, real = task.mel_loss_pair({"audio": audio, "mel": mel}, generated)
    torch.testing.assert_close(real, task.log_mel(audio))  # the target is the recording's mel, not the input


def test_data_speakers_keeps_one_voice(compose_cfg):
    data = fitted_datamodule(compose_cfg(*smoke("melgan"), "data.speakers=[us_f5]"))
    assert {u.speaker for u in data.datasets["train"].utterances} == {"us_f5"}
    with pytest.raises(
        SplitUnavailableError, match=r"data.speakers=\['nobody'\]: none of them in the train split; its "
    ):
        fitted_datamodule(compose_cfg(*smoke("melgan"), "data.speakers=[nobody]"))
