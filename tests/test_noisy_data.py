"""Noisy/clean datasets: reproducible on-the-fly mixtures and the VCTK+DEMAND paired corpus."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from conftest import fitted_datamodule
from corpus_fixtures import make_librispeech, make_vctk_demand, write_audio

from audiogan.audio.augment import power, reverberate, synthetic_rir
from audiogan.audio.io import load_audio
from audiogan.cli import exit_on_user_error
from audiogan.data.corpora.base import CorpusNotFoundError
from audiogan.data.corpora.librispeech import LibriSpeech
from audiogan.data.corpora.vctk_demand import VCTKDemand
from audiogan.data.noisy import NoisyMixtures, PairedClips, noise_excerpt

RATE, SEGMENT = 16_000, 2048


@pytest.fixture(scope="module")
def utterances(tmp_path_factory):
    root = tmp_path_factory.mktemp("libri")
    make_librispeech(root, subsets=("train-clean-100",), speakers=2, n=3)
    return LibriSpeech(root, subsets={"train": ["train-clean-100"]}).utterances("train")


@pytest.fixture(scope="module")
def vctk_demand_root(tmp_path_factory):
    return make_vctk_demand(tmp_path_factory.mktemp("vd"))


def snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> float:
    return 10 * math.log10(power(clean) / power(noisy - clean))


def offset_in(whole: torch.Tensor, part: torch.Tensor) -> int:
    """Where ``part`` occurs in ``whole`` exactly."""
    starts = [
        s for s in range(whole.numel() - part.numel() + 1) if torch.equal(whole[s : s + part.numel()], part)
    ]
    assert len(starts) == 1
    return starts[0]


def test_mixture_items_have_shapes_and_are_seeded(utterances):
    data = NoisyMixtures(utterances, RATE, SEGMENT, reverb_probability=0.5)
    item = data[(0, 7)]
    assert set(item) == {"clean", "noisy"}
    for x in item.values():
        assert x.shape == (SEGMENT,) and x.dtype == torch.float32
    assert max(item["clean"].abs().max(), item["noisy"].abs().max()) == pytest.approx(0.9)
    again = NoisyMixtures(utterances, RATE, SEGMENT, reverb_probability=0.5)[(0, 7)]
    assert all(torch.equal(item[k], again[k]) for k in item)
    assert not torch.equal(item["noisy"], data[(0, 8)]["noisy"])


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
def test_every_noise_kind_mixes_within_the_snr_range(utterances, kind):
    data = NoisyMixtures(utterances, RATE, SEGMENT, snr_range=(5.0, 10.0), noise_kinds=(kind,))
    for seed in range(4):
        item = data[(seed % len(data), seed)]
        assert 5.0 - 0.05 <= snr_db(item["clean"], item["noisy"]) <= 10.0 + 0.05


def test_plain_int_keys_give_mixes_fixed_by_the_index_and_seed(utterances):
    a = NoisyMixtures(utterances, RATE, None, reverb_probability=0.5)
    b = NoisyMixtures(utterances, RATE, None, reverb_probability=0.5)
    for i in range(len(a)):
        assert all(torch.equal(a[i][k], b[i][k]) for k in ("clean", "noisy"))
    assert a[0]["clean"].numel() == load_audio(utterances[0].path, RATE).numel()  # whole clips
    assert not torch.equal(a[0]["noisy"], NoisyMixtures(utterances, RATE, None, seed=1)[0]["noisy"])


def test_noise_and_rirs_from_folders(utterances, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("hum", "hiss"):
        write_audio(
            tmp_path / "noise" / f"{name}.wav", (0.1 * rng.standard_normal(3000)).astype(np.float32), RATE
        )
    rir = synthetic_rir(0.3, RATE, direct_delay=30, generator=torch.Generator().manual_seed(0))
    write_audio(tmp_path / "rirs" / "room.wav", 0.5 * rir.numpy(), RATE)
    data = NoisyMixtures(
        utterances, RATE, SEGMENT, snr_range=(0.0, 3.0), noise_files=tmp_path / "noise", peak=None
    )
    assert len(data.noise_files) == 2 and not data.rir_files
    item = data[(1, 3)]
    assert 0.0 - 0.05 <= snr_db(item["clean"], item["noisy"]) <= 3.0 + 0.05
    wet = NoisyMixtures(
        utterances,
        RATE,
        SEGMENT,
        noise_files=tmp_path / "noise",
        rir_files=tmp_path / "rirs",
        reverb_probability=1.0,
        peak=None,
    )
    item = wet[(1, 3)]
    offset_in(load_audio(utterances[1].path, RATE), item["clean"])  # the target stays the dry crop
    assert not torch.equal(item["noisy"], data[(1, 3)]["noisy"])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        NoisyMixtures(utterances, RATE, SEGMENT, noise_files=tmp_path / "nowhere")


def test_noise_excerpts_match_the_whole_file_and_loop_short_files(tmp_path):
    rng = np.random.default_rng(1)
    long = write_audio(tmp_path / "long.wav", (0.1 * rng.standard_normal(48_000)).astype(np.float32), 48_000)
    whole = load_audio(long, RATE)
    assert noise_excerpt(long, RATE, SEGMENT, 0.9999).shape == (SEGMENT,)
    for position in (0.0, 0.5):  # excerpts starting at a multiple of 3 samples of 48 kHz, to compare
        excerpt = noise_excerpt(long, RATE, SEGMENT, position)
        assert excerpt.shape == (SEGMENT,)
        start = round(position * (whole.numel() - SEGMENT))
        # only the excerpt is resampled: it matches the whole file's resampling away from its ends
        inner = slice(32, SEGMENT - 32)
        assert torch.allclose(excerpt[inner], whole[start : start + SEGMENT][inner], atol=2e-3)
    short = write_audio(tmp_path / "short.wav", (0.1 * rng.standard_normal(500)).astype(np.float32), RATE)
    looped = noise_excerpt(short, RATE, SEGMENT, 0.0)
    assert looped.shape == (SEGMENT,) and torch.equal(looped[:500], looped[500:1000])


@pytest.mark.parametrize("kind", ["noise", "rir"])
def test_an_unusable_noise_or_rir_file_is_skipped_with_a_warning(utterances, tmp_path, caplog, kind):
    folder = tmp_path / kind
    rng = np.random.default_rng(2)
    for name in ("a", "c"):
        audio = 0.1 * rng.standard_normal(3000) if kind == "noise" else synthetic_rir(0.2, RATE).numpy() * 0.5
        write_audio(folder / f"{name}.wav", audio.astype(np.float32), RATE)
    bad = folder / "b.wav"
    bad.write_bytes(b"not audio")
    options = {"noise_files": folder} if kind == "noise" else {"rir_files": folder, "reverb_probability": 1.0}
    data = NoisyMixtures(utterances, RATE, SEGMENT, **options)
    pool = data.noise_files if kind == "noise" else data.rir_files
    keys = [(i % len(data), i) for i in range(24)]  # several land on b.wav (6 for noise, 9 for rooms)
    items = [data[key] for key in keys]  # some draws land on the bad file: none raises
    assert pool.skipped == [bad]
    assert sum(str(bad) in message for message in caplog.messages) == 1  # one warning, naming the file
    # an item is the same whether or not the process had met the bad file before (reversed order)
    fresh = NoisyMixtures(utterances, RATE, SEGMENT, **options)
    for key, item in reversed(list(zip(keys, items, strict=True))):
        assert torch.equal(fresh[key]["noisy"], item["noisy"])
    bad.rename(folder / "b.txt")
    (folder / "a.wav").write_bytes(b"")
    (folder / "c.wav").write_bytes(b"")
    with pytest.raises(RuntimeError, match="none of the 2"):
        NoisyMixtures(utterances, RATE, SEGMENT, **options)[(0, 0)]


def test_unknown_noise_kind_is_rejected(utterances):
    with pytest.raises(ValueError, match="noise_kinds"):
        NoisyMixtures(utterances, RATE, SEGMENT, noise_kinds=("traffic",))


def test_vctk_demand_pairs_and_splits(vctk_demand_root):
    corpus = VCTKDemand(vctk_demand_root, val_fraction=0.5)
    train, val, test = (corpus.utterances(s) for s in ("train", "val", "test"))
    assert len(train) + len(val) == 8 and val and train
    assert {u.speaker for u in test} == {"p232"} and len(test) == 4
    assert {u.utt_id for u in val} == {
        u.utt_id for u in VCTKDemand(vctk_demand_root, val_fraction=0.5).utterances("val")
    }
    for utt in train + val + test:
        assert utt.path.name == utt.twin.name == f"{utt.utt_id}.wav"
        assert utt.path.parent.name.startswith("clean_") and utt.twin.parent.name.startswith("noisy_")


def test_vctk_demand_missing_root_or_twin(tmp_path):
    with pytest.raises(CorpusNotFoundError, match="clean_trainset_28spk_wav") as err:
        VCTKDemand(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(err.value)
    make_vctk_demand(tmp_path / "partial", missing_noisy=("p226_002",))
    with pytest.raises(CorpusNotFoundError, match="p226_002.wav"):
        VCTKDemand(tmp_path / "partial")


def test_paired_clips_crop_clean_and_noisy_at_the_same_offset(vctk_demand_root):
    pairs = VCTKDemand(vctk_demand_root).utterances("train")
    data = PairedClips(pairs, RATE, segment_length=SEGMENT)
    whole = PairedClips(pairs, RATE)[0]
    assert whole["clean"].shape == whole["noisy"].shape == (round(0.3 * RATE),)  # 48 kHz files resampled
    assert not torch.equal(whole["clean"], whole["noisy"])
    starts = set()
    for seed in range(3):
        item = data[(0, seed)]
        assert item["clean"].shape == item["noisy"].shape == (SEGMENT,)
        start = offset_in(whole["clean"], item["clean"])
        assert torch.equal(item["noisy"], whole["noisy"][start : start + SEGMENT])
        starts.add(start)
    assert len(starts) > 1
    assert torch.equal(data[0]["noisy"], whole["noisy"][:SEGMENT])  # int keys: the fixed first segment
    assert PairedClips(pairs, RATE, segment_length=8000)[0]["noisy"].shape == (round(0.3 * RATE),)  # unpadded
    assert PairedClips(pairs, RATE, segment_length=8000)[(0, 1)]["clean"].shape == (8000,)  # zero-padded


# ----------------------------------------------------------------- the data configs, through the datamodule
DENOISER = ["model=hifigan_denoise", "model.batch_size=2", "model.datasets.train.segment_length=2048"]
DENOISER += ["model.datasets.val.segment_length=4000", "model.val_clips=2"]


def datamodule(compose_cfg, *overrides):
    return fitted_datamodule(compose_cfg(*DENOISER, *overrides))


def test_tiny_speech_noisy_mixes_training_crops_and_fixes_validation(compose_cfg):
    data = datamodule(compose_cfg, "data=tiny_speech_noisy")
    batch = next(iter(data.train_dataloader()))
    assert batch["clean"].shape == batch["noisy"].shape == (2, 2048)
    assert (batch["clean"] - batch["noisy"]).abs().mean() > 1e-3
    again = datamodule(compose_cfg, "data=tiny_speech_noisy")
    for first, second in zip(data.val_dataloader(), again.val_dataloader(), strict=True):
        assert first["noisy"].shape == (1, 4000) and torch.equal(first["noisy"], second["noisy"])
    assert data.audio_config.sample_rate == 16_000


def test_librispeech_noisy_takes_noise_and_rooms_from_folders(compose_cfg, tmp_path):
    make_librispeech(
        tmp_path / "corpus", subsets=("train-clean-100", "dev-clean", "test-clean"), speakers=2, n=3
    )
    noise = write_audio(tmp_path / "noises" / "hum.wav", 0.1 * np.ones(RATE, np.float32), RATE)
    room = np.zeros(800, np.float32)
    room[0], room[400] = 1.0, 0.5  # direct path + one echo 25 ms later
    write_audio(tmp_path / "rirs" / "echo.wav", room, RATE)
    data = datamodule(
        compose_cfg,
        "data=librispeech_noisy",
        f"data.root={tmp_path / 'corpus'}",
        f"data.dataset_defaults.noise_files={tmp_path / 'noises'}",
        f"data.dataset_defaults.rir_files={tmp_path / 'rirs'}",
        "data.dataset_defaults.reverb_probability=1.0",
    )
    train = data.datasets["train"]
    assert train.noise_files.files == [noise] and len(train.rir_files) == 1
    item = train[(0, 7)]
    # noisy = the clean crop through the recorded room + the recorded (constant) hum, all scaled alike
    hum = item["noisy"] - reverberate(item["clean"], torch.from_numpy(room))
    assert hum.abs().min() > 1e-3 and hum.max() - hum.min() < 2e-3 * hum.abs().mean()


def test_librispeech_noisy_trains_without_test_clean_and_testing_names_it(compose_cfg, tmp_path, caplog):
    """The usual download, train-clean-100 + dev-clean: fit warns once what eval.py will need."""
    make_librispeech(tmp_path / "corpus", subsets=("train-clean-100", "dev-clean"), speakers=2, n=3)
    with caplog.at_level(logging.WARNING, logger="audiogan.data"):
        data = datamodule(compose_cfg, "data=librispeech_noisy", f"data.root={tmp_path / 'corpus'}")
    assert set(data.datasets) == {"train", "val"}
    assert next(iter(data.train_dataloader()))["noisy"].shape == (2, 2048)
    (warning,) = [r.getMessage() for r in caplog.records if "eval.py" in r.getMessage()]
    assert f"no test-clean under {tmp_path / 'corpus' / 'LibriSpeech'}" in warning
    assert "download test-clean" in warning and "data.corpus.subsets.test=" in warning

    caplog.clear()
    with pytest.raises(SystemExit, match="1"):  # what eval.py and train.py do with it: one line, exit 1
        exit_on_user_error(data.setup)("test")
    (error,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert error.startswith("SplitUnavailableError: LibriSpeech: no test-clean under") and "\n" not in error


def test_vctk_demand_serves_recorded_pairs_and_skips_a_corrupt_twin(compose_cfg, tmp_path, caplog):
    root = make_vctk_demand(tmp_path / "vd")
    bad = root / "noisy_trainset_28spk_wav" / "p226_001.wav"
    bad.write_bytes(b"not audio")
    data = datamodule(compose_cfg, "data=vctk_demand", f"data.root={root}", "data.corpus.val_fraction=0.5")
    assert data.skipped["train"] + data.skipped["val"] == 1 and str(bad) in caplog.text
    batch = next(iter(data.train_dataloader()))
    assert batch["clean"].shape == batch["noisy"].shape == (2, 2048)
    val = data.datasets["val"]
    twin = next(u.twin for u in data.usable("val"))
    assert torch.equal(val[0]["noisy"], load_audio(twin, RATE)[:4000])  # the fixed first 4000 samples
    assert val[0]["clean"].shape == val[0]["noisy"].shape
