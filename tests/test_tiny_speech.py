"""The embedded tiny_speech corpus: build, layout, audio, determinism, splits, errors."""

from __future__ import annotations

import csv
import multiprocessing
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiogan.data.corpora.base import SPLITS, CorpusNotFoundError
from audiogan.data.corpora.espeak import Espeak
from audiogan.data.corpora.tiny_speech import (
    DIGIT_TAKES,
    DIGITS,
    SENTENCES,
    VOICES,
    TinySpeech,
    ensure_tiny_speech,
)
from audiogan.data.parallel import pair_utterances

# A reduced corpus (one breathy voice, whose noise must be seeded) for the builds a test repeats.
SMALL = dict(
    voices={name: VOICES[name] for name in ("gb_m1", "us_f2")},
    sentences=SENTENCES[:2],
    digits=DIGITS[:2],
    digit_takes=DIGIT_TAKES[:1],
)


@pytest.fixture
def root(data_dir) -> Path:
    """The session's data dir, where ``ensure_tiny_speech`` built the full corpus (conftest)."""
    return data_dir


def read_metadata(corpus_dir: Path) -> list[dict]:
    with open(corpus_dir / "metadata.csv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


def wav_files(corpus_dir: Path) -> list[Path]:
    return sorted((corpus_dir / "wavs").rglob("*.wav"))


def test_layout_and_counts(root):
    rows = read_metadata(root / "tiny_speech")
    assert list(rows[0]) == ["utt_id", "speaker", "text", "sentence_id", "kind"]
    per_speaker = len(SENTENCES) + len(DIGITS) * len(DIGIT_TAKES)
    assert len(rows) == len(VOICES) * per_speaker == 360
    assert Counter(row["kind"] for row in rows) == {"sentence": 180, "digit": 180}
    assert Counter(row["speaker"] for row in rows) == {name: per_speaker for name in VOICES}
    expected = {root / "tiny_speech" / "wavs" / row["speaker"] / f"{row['utt_id']}.wav" for row in rows}
    assert set(wav_files(root / "tiny_speech")) == expected
    assert not list(root.glob(".tiny_speech.tmp-*"))


def test_wavs_are_22k_mono_pcm16_audible_and_plausibly_long(root):
    kinds = {row["utt_id"]: row["kind"] for row in read_metadata(root / "tiny_speech")}
    for path in wav_files(root / "tiny_speech"):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16"), path
        audio, _ = sf.read(path, dtype="float32")
        assert np.abs(audio).max() > 0.1, path
        low, high = (1.5, 5.0) if kinds[path.stem] == "sentence" else (0.2, 1.2)
        assert low < info.duration < high, (path, info.duration)


def test_second_call_is_a_fast_no_op(root):
    files = [*wav_files(root / "tiny_speech"), root / "tiny_speech" / "build.json"]
    before = [path.stat().st_mtime_ns for path in files]
    start = time.perf_counter()
    assert ensure_tiny_speech(root) == root / "tiny_speech"
    assert time.perf_counter() - start < 0.5
    assert [path.stat().st_mtime_ns for path in files] == before


def test_builds_are_deterministic_and_clips_independent_of_the_rest(root, tmp_path):
    first, second = ensure_tiny_speech(tmp_path / "a", **SMALL), ensure_tiny_speech(tmp_path / "b", **SMALL)
    names = [path.relative_to(first) for path in wav_files(first)]
    assert len(names) == 2 * (2 + 2) and names == [path.relative_to(second) for path in wav_files(second)]
    for name in names:
        clip = sf.read(first / name, dtype="int16")[0]
        assert np.array_equal(clip, sf.read(second / name, dtype="int16")[0]), name
        # the same utterance in the full corpus, synthesised after hundreds of others, is identical too
        assert np.array_equal(clip, sf.read(root / "tiny_speech" / name, dtype="int16")[0]), name
    assert read_metadata(first) == read_metadata(second)


def median_f0(audio: np.ndarray, rate: int, fmin: float = 60.0, fmax: float = 500.0) -> float:
    """Median F0 in Hz over the voiced frames (RMS > 0.02) of 2048 samples: each frame's autocorrelation
    peak among the lags of ``fmin``..``fmax`` (within 1-2% of librosa's yin on this corpus, without its
    numba compile)."""
    frame, hop = 2048, 512
    lags = np.arange(int(rate / fmax), int(rate / fmin) + 1)
    f0 = []
    for start in range(0, len(audio) - frame, hop):
        x = audio[start : start + frame]
        if np.sqrt(np.mean(x**2)) > 0.02:
            autocorrelation = np.fft.irfft(np.abs(np.fft.rfft(x - x.mean(), 2 * frame)) ** 2)[:frame]
            f0.append(rate / lags[np.argmax(autocorrelation[lags])])
    return float(np.median(f0))


def test_speakers_have_distinct_pitch(root):
    f0 = {}
    for speaker in VOICES:
        medians = []
        for index in range(3):
            audio, rate = sf.read(root / "tiny_speech" / "wavs" / speaker / f"{speaker}_s{index:02d}.wav")
            medians.append(median_f0(audio, rate))
        f0[speaker] = float(np.mean(medians))
    ordered = sorted(f0.values())
    ratios = np.array(ordered[1:]) / np.array(ordered[:-1])
    assert min(ratios) > 1.1, f0  # every speaker at least 10% apart in median F0


@pytest.mark.parametrize("subset", ["all", "sentences", "digits"])
def test_splits_are_disjoint_non_empty_stable_and_keep_groups_together(root, subset):
    corpus = TinySpeech(root, subset=subset)
    splits = {split: corpus.utterances(split) for split in SPLITS}
    ids = {split: [u.utt_id for u in utts] for split, utts in splits.items()}
    assert all(ids.values()), {split: len(v) for split, v in ids.items()}
    assert all(v == sorted(v) for v in ids.values())
    union = set().union(*ids.values())
    assert (
        len(union)
        == sum(len(v) for v in ids.values())
        == {"all": 360, "sentences": 180, "digits": 180}[subset]
    )
    assert TinySpeech(root, subset=subset).utterances("test") == splits["test"]  # stable
    group = {row["utt_id"]: row["sentence_id"] for row in read_metadata(root / "tiny_speech")}
    split_of_group = {}
    for split, utts in ids.items():
        for utt_id in utts:
            assert split_of_group.setdefault(group[utt_id], split) == split, utt_id
    kinds = 2 if subset == "all" else 1
    assert Counter(split_of_group.values()) == {"train": 24 * kinds, "val": 3 * kinds, "test": 3 * kinds}
    if subset != "all":  # a kind's split does not depend on the subset it was read through
        everything = TinySpeech(root)
        assert set(ids["val"]) <= {u.utt_id for u in everything.utterances("val")}


def test_utterances_carry_speaker_text_and_existing_path(root):
    utterances = TinySpeech(root, subset="sentences").utterances("train")
    assert {u.speaker for u in utterances} == set(VOICES)
    assert {u.text for u in utterances} <= set(SENTENCES)
    assert all(u.path.is_file() and u.path.parent.name == u.speaker for u in utterances)


def test_digits_subset_holds_only_digit_words(root):
    corpus = TinySpeech(root, subset="digits")
    assert {u.text for u in corpus.utterances("train")} == set(DIGITS)
    assert all(u.text in DIGITS for split in SPLITS for u in corpus.utterances(split))
    assert not any(u.text in DIGITS for u in TinySpeech(root, subset="sentences").utterances("train"))


def test_every_sentence_and_digit_take_of_a_split_pairs_two_speakers(root):
    corpus = TinySpeech(root)
    assert corpus.speakers == tuple(sorted(VOICES))
    for split in SPLITS:
        utterances = corpus.utterances(split)
        in_split = {u.utt_id for u in utterances}
        pairs = pair_utterances(utterances, "gb_m1", "us_f5")
        assert len(pairs) == len(in_split) // len(VOICES)
        for source, target in pairs:
            assert (source.speaker, target.speaker) == ("gb_m1", "us_f5")
            assert source.text == target.text
            assert source.utt_id.removeprefix("gb_m1_") == target.utt_id.removeprefix("us_f5_")
            assert {source.utt_id, target.utt_id} <= in_split


def test_bad_arguments_name_the_value_and_the_choices(root):
    with pytest.raises(ValueError, match=r"'words'.*digits"):
        TinySpeech(root, subset="words")
    with pytest.raises(ValueError, match="'dev'"):
        TinySpeech(root).utterances("dev")
    with pytest.raises(ValueError, match="speaker name"):
        ensure_tiny_speech(root, voices={"a/b": VOICES["gb_m1"]})


def test_missing_corpus_without_build_is_reported(tmp_path):
    with pytest.raises(CorpusNotFoundError, match="tiny_speech"):
        TinySpeech(tmp_path, build=False)


def test_unusable_library_or_silent_output_raise_runtime_error(tmp_path):
    with pytest.raises(RuntimeError, match="not found"):
        Espeak(library=tmp_path / "missing.so")
    (tmp_path / "fake.so").write_bytes(b"not a library")
    with pytest.raises(RuntimeError, match="cannot load"):
        Espeak(library=tmp_path / "fake.so")
    with Espeak() as espeak, pytest.raises(RuntimeError, match="no audio"):
        espeak.synthesize("", "en-us", rate=175, pitch=50)


def test_interrupted_build_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    (tmp_path / ".tiny_speech.tmp-killed").mkdir()  # what a killed build leaves behind
    real, calls = Espeak.synthesize, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Espeak, "synthesize", failing)
    with pytest.raises(KeyboardInterrupt):
        ensure_tiny_speech(tmp_path, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tiny_speech.lock"]
    monkeypatch.setattr(Espeak, "synthesize", real)
    assert len(read_metadata(ensure_tiny_speech(tmp_path, **SMALL))) == 8


def test_other_parameters_replace_an_existing_build(tmp_path):
    ensure_tiny_speech(tmp_path, **SMALL)
    smaller = dict(SMALL, sentences=SENTENCES[:1], digits=())
    corpus_dir = ensure_tiny_speech(tmp_path, **smaller)
    assert [row["utt_id"] for row in read_metadata(corpus_dir)] == ["gb_m1_s00", "us_f2_s00"]
    assert len(wav_files(corpus_dir)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tiny_speech.lock", "tiny_speech"]


def _build_and_report(root: Path, queue) -> None:
    queue.put((ensure_tiny_speech(root, **SMALL) / "build.json").stat().st_ino)


@pytest.mark.slow
def test_concurrent_builders_produce_one_corpus(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_build_and_report, args=(tmp_path, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    inodes = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join()
    assert inodes[0] == inodes[1]  # the later caller reused the first build instead of replacing it
    assert len(read_metadata(tmp_path / "tiny_speech")) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tiny_speech.lock", "tiny_speech"]
