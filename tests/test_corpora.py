"""Corpus readers on tiny corpora in their real layouts, and the scan that skips unusable audio."""

from __future__ import annotations

import json
import logging
import os
import tarfile
import zipfile

import numpy as np
import pytest
import torch
import torchaudio
from conftest import fitted_datamodule
from corpus_fixtures import (
    BAD_KINDS,
    LJSPEECH_RATE,
    SECONDS,
    VCTK_RATE,
    ljspeech_text,
    make_librispeech,
    make_ljspeech,
    make_vctk,
    tone,
    vctk_text,
    write_audio,
    write_bad_file,
)

from audiogan.audio.io import load_audio
from audiogan.data import scan
from audiogan.data.corpora.base import (
    SPLITS,
    CorpusNotFoundError,
    SplitUnavailableError,
    split_hash,
    split_of,
)
from audiogan.data.corpora.librispeech import LibriSpeech
from audiogan.data.corpora.ljspeech import LJSpeech
from audiogan.data.corpora.vctk import VCTK
from audiogan.data.parallel import ParallelMels, pair_utterances


def all_utterances(corpus):
    return [u for split in SPLITS for u in corpus.utterances(split)]


def assert_proper_splits(make_corpus):
    """Splits are sorted, disjoint, cover the corpus, and come out the same from a fresh reader."""
    corpus = make_corpus()
    splits = {split: corpus.utterances(split) for split in SPLITS}
    ids = [u.utt_id for split in SPLITS for u in splits[split]]
    assert len(ids) == len(set(ids))
    assert all(splits.values()), "fixture too small: some split is empty"
    for utterances in splits.values():
        assert [u.utt_id for u in utterances] == sorted(u.utt_id for u in utterances)
    assert {split: make_corpus().utterances(split) for split in SPLITS} == splits
    return splits


# --- LJSpeech ---


def test_ljspeech_lists_clips_with_normalized_text(tmp_path):
    corpus = LJSpeech(make_ljspeech(tmp_path, n=4), val_fraction=0, test_fraction=0)
    utterances = corpus.utterances("train")
    assert [u.utt_id for u in utterances] == [f"LJ001-000{i}" for i in range(1, 5)]
    assert [u.text for u in utterances] == [ljspeech_text(i) for i in range(1, 5)]
    assert {u.speaker for u in utterances} == {"LJ"}
    assert all(u.path == tmp_path / "LJSpeech-1.1" / "wavs" / f"{u.utt_id}.wav" for u in utterances)
    assert corpus.utterances("val") == corpus.utterances("test") == []


def test_ljspeech_splits(tmp_path):
    root = make_ljspeech(tmp_path, n=30)
    splits = assert_proper_splits(lambda: LJSpeech(root, val_fraction=0.2, test_fraction=0.2))
    assert sum(map(len, splits.values())) == 30
    reseeded = LJSpeech(root, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert {split: reseeded.utterances(split) for split in SPLITS} != splits


def test_ljspeech_rejects_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        LJSpeech(make_ljspeech(tmp_path)).utterances("dev")


def test_ljspeech_missing_metadata_names_file_and_layout(tmp_path):
    root = make_ljspeech(tmp_path)
    (root / "metadata.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match="metadata.csv") as err:
        LJSpeech(root)
    assert str(root / "metadata.csv") in str(err.value)


# --- LibriSpeech ---


def test_librispeech_lists_subsets_per_split(tmp_path):
    make_librispeech(tmp_path, speakers=2, n=3)
    corpus = LibriSpeech(tmp_path)
    train = corpus.utterances("train")
    assert len(train) == 6
    assert train[0].utt_id == "500-5001-0000"
    assert train[0].speaker == "500"
    assert train[0].text == "UTTERANCE 0 OF SPEAKER 500"
    assert train[0].path == tmp_path / "LibriSpeech/train-clean-100/500/5001/500-5001-0000.flac"
    assert {u.speaker for u in corpus.utterances("val")} == {"100", "101"}  # dev-clean
    assert {u.speaker for u in corpus.utterances("test")} == {"300", "301"}  # test-clean
    ids = [u.utt_id for u in all_utterances(corpus)]
    assert len(ids) == len(set(ids)) == 18


def test_librispeech_accepts_the_librispeech_dir_as_root(tmp_path):
    corpus_dir = make_librispeech(tmp_path)
    for split in SPLITS:
        assert LibriSpeech(corpus_dir).utterances(split) == LibriSpeech(tmp_path).utterances(split)


def test_librispeech_configurable_subsets(tmp_path):
    make_librispeech(tmp_path, subsets=("train-clean-100", "train-clean-360", "dev-clean"))
    subsets = {"train": ["train-clean-100", "train-clean-360"], "val": ["dev-clean"]}
    corpus = LibriSpeech(tmp_path, subsets=subsets)
    assert {u.path.parts[-4] for u in corpus.utterances("train")} == {"train-clean-100", "train-clean-360"}
    assert corpus.utterances("test") == []


@pytest.mark.parametrize("split, missing", [("train", "train-clean-100"), ("val", "dev-clean")])
def test_librispeech_missing_train_or_val_subset_stops_at_once(tmp_path, split, missing):
    make_librispeech(
        tmp_path, subsets=[s for s in ("train-clean-100", "dev-clean", "test-clean") if s != missing]
    )
    with pytest.raises(CorpusNotFoundError, match=f"{split} subset '{missing}'") as err:
        LibriSpeech(tmp_path)
    assert str(tmp_path / "LibriSpeech" / missing) in str(err.value)


def test_librispeech_without_test_subset_lists_train_and_val_and_names_it_for_test(tmp_path):
    make_librispeech(tmp_path, subsets=("train-clean-100", "dev-clean"))  # the usual download
    corpus = LibriSpeech(tmp_path)
    assert len(corpus.utterances("train")) == len(corpus.utterances("val")) == 6
    with pytest.raises(SplitUnavailableError) as err:
        corpus.utterances("test")
    message = str(err.value)
    assert f"no test-clean under {tmp_path / 'LibriSpeech'}" in message and "\n" not in message
    assert "eval.py needs a test subset" in message and "data.corpus.subsets.test=" in message


def test_librispeech_rejects_bad_subsets(tmp_path):
    root = make_librispeech(tmp_path)
    with pytest.raises(ValueError, match="dev"):
        LibriSpeech(root, subsets={"dev": ["dev-clean"]})
    with pytest.raises(ValueError, match=r"\['dev-clean'\] in both subsets.train and subsets.val .*overlap"):
        LibriSpeech(root, subsets={"train": ["train-clean-100", "dev-clean"], "val": ["dev-clean"]})
    with pytest.raises(
        ValueError, match=r"subsets.test lists a subset twice: \['test-clean', 'test-clean'\]"
    ):
        LibriSpeech(root, subsets={"train": ["train-clean-100"], "test": ["test-clean", "test-clean"]})


def test_librispeech_val_subset_may_serve_as_test_with_a_warning(tmp_path, caplog):
    make_librispeech(tmp_path, subsets=("train-clean-100", "dev-clean"))
    subsets = {"train": ["train-clean-100"], "val": ["dev-clean"], "test": ["dev-clean"]}
    with caplog.at_level(logging.WARNING, logger="audiogan.data"):
        corpus = LibriSpeech(tmp_path, subsets=subsets)
    assert corpus.utterances("test") == corpus.utterances("val") != []
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "['dev-clean'] in both subsets.val and subsets.test" in warning and "optimistic" in warning


# --- VCTK ---


def test_vctk_lists_one_mic_with_text(tmp_path):
    corpus = VCTK(make_vctk(tmp_path, n=2), mic="mic2", val_fraction=0, test_fraction=0)
    utterances = corpus.utterances("train")
    assert [u.utt_id for u in utterances] == ["p225_001", "p225_002", "p226_001", "p226_002"]
    assert [u.speaker for u in utterances] == ["p225", "p225", "p226", "p226"]
    assert utterances[1].text == vctk_text(2)
    assert utterances[0].path.name == "p225_001_mic2.flac"
    assert all(u.path.name.endswith("_mic2.flac") for u in utterances)
    assert [VCTK.sentence_id(u) for u in utterances] == ["001", "002", "001", "002"]


def test_vctk_default_mic1_and_missing_mic2_recordings(tmp_path):
    root = make_vctk(tmp_path, n=2)
    for path in (root / "wav48_silence_trimmed" / "p226").glob("*_mic2.flac"):  # like p280 in VCTK 0.92
        path.unlink()
    assert all(u.path.name.endswith("_mic1.flac") for u in all_utterances(VCTK(root)))
    assert {u.speaker for u in all_utterances(VCTK(root, mic="mic2"))} == {"p225"}
    with pytest.raises(ValueError, match="mic3"):
        VCTK(root, mic="mic3")


def test_vctk_speaker_filter(tmp_path):
    root = make_vctk(tmp_path, speakers=("p225", "p226", "p227"))
    corpus = VCTK(root, speakers=["p226"])
    assert corpus.speakers == ["p226"]
    assert {u.speaker for u in all_utterances(corpus)} == {"p226"}
    with pytest.raises(ValueError, match="p999") as err:
        VCTK(root, speakers=["p226", "p999"])
    assert "p225" in str(err.value) and "p227" in str(err.value)


def test_vctk_keeps_untranscribed_speaker_with_empty_text(tmp_path):
    corpus = VCTK(make_vctk(tmp_path, speakers=("p225", "p315"), untranscribed=("p315",)))
    p315 = [u for u in all_utterances(corpus) if u.speaker == "p315"]
    assert len(p315) == 3 and {u.text for u in p315} == {""}


def test_vctk_splits_by_sentence_number(tmp_path):
    root = make_vctk(tmp_path, speakers=("p225", "p226"), n=20)
    splits = assert_proper_splits(lambda: VCTK(root, val_fraction=0.2, test_fraction=0.2))
    sentences = {split: {VCTK.sentence_id(u) for u in utterances} for split, utterances in splits.items()}
    assert sum(map(len, sentences.values())) == 20  # each sentence number in exactly one split
    for utterances in splits.values():  # ... with both speakers
        assert len(utterances) == 2 * len({VCTK.sentence_id(u) for u in utterances})


def test_vctk_recordings_pair_by_sentence_number_within_a_split(tmp_path):
    root = make_vctk(tmp_path, speakers=("p225", "p226", "p315"), n=20, untranscribed=("p315",))
    corpus = VCTK(root, val_fraction=0.2, test_fraction=0.2)
    for split in SPLITS:
        utterances = corpus.utterances(split)
        pairs = pair_utterances(utterances, "p226", "p225")
        assert len(pairs) == len(utterances) // 3
        for source, target in pairs:
            assert (source.speaker, target.speaker) == ("p226", "p225")
            assert VCTK.sentence_id(source) == VCTK.sentence_id(target)
            assert source.path.is_file() and target.path.is_file()
    # An untranscribed speaker cannot be shown to read the same text: paired only by number on request.
    train = corpus.utterances("train")
    assert pair_utterances(train, "p225", "p315") == []
    assert len(pair_utterances(train, "p225", "p315", match_text=False)) == len(
        pair_utterances(train, "p225", "p226")
    )
    with pytest.raises(ValueError, match=r"'p999'.*speakers \['p225', 'p226', 'p315'\]"):
        ParallelMels(train, 22050, {"log": "db"}, "p225", "p999")


def test_vctk_pairs_drop_different_sentences_under_one_number(tmp_path):
    root = make_vctk(tmp_path, n=2)
    (root / "txt" / "p226" / "p226_002.txt").write_text("A newspaper sentence only p226 read.\n")
    (root / "txt" / "p225" / "p225_001.txt").write_text("please call STELLA sentence 1\n")  # same words
    train = VCTK(root, val_fraction=0, test_fraction=0).utterances("train")
    assert [VCTK.sentence_id(s) for s, _ in pair_utterances(train, "p225", "p226")] == ["001"]
    assert len(pair_utterances(train, "p225", "p226", match_text=False)) == 2


# --- corpora split by hashing: small ones still hold out val and test, large ones split as ever ---


def hashed(utterances, key, val_fraction, test_fraction):
    """The split :func:`split_of` alone gives each utterance."""
    return [split_of(key(u), val_fraction, test_fraction) for u in utterances]


def test_small_corpora_hold_out_a_val_and_a_test_key_without_reading_audio(tmp_path):
    lj_root, vctk_root = make_ljspeech(tmp_path, n=24), make_vctk(tmp_path, n=12)  # 24 clips each
    lj, vctk = LJSpeech(lj_root), VCTK(vctk_root)  # default fractions: 2% / 5%
    lj_all, vctk_all = all_utterances(lj), all_utterances(vctk)
    assert "test" not in hashed(lj_all, lambda u: u.utt_id, 0.02, 0.02)  # hashing alone leaves test empty
    assert "val" not in hashed(vctk_all, VCTK.sentence_id, 0.05, 0.05)  # ... and here val
    for make in (lambda: LJSpeech(lj_root), lambda: VCTK(vctk_root)):
        splits = assert_proper_splits(make)
        assert len({make().split_key(u) for u in splits["val"]}) == 1
        assert len({make().split_key(u) for u in splits["test"]}) == 1
    assert len(lj_all) == len(vctk_all) == 24
    # a zero fraction still means none, and the last training key is never taken
    everything = LJSpeech(lj_root, val_fraction=0, test_fraction=0).utterances("train")
    assert everything == sorted(lj_all, key=lambda u: u.utt_id)
    tiny = LJSpeech(make_ljspeech(tmp_path / "two", n=2))
    assert [len(tiny.utterances(split)) for split in SPLITS] == [1, 1, 0]
    with pytest.raises(ValueError, match="val_fraction=0.6 test_fraction=0.5"):
        LJSpeech(lj_root, val_fraction=0.6, test_fraction=0.5)


@pytest.mark.slow
def test_large_corpora_split_exactly_by_hash_as_before(tmp_path):
    """LJSpeech's 13,100 ids and 400 VCTK sentence numbers; listing reads no audio, so no audio is written."""
    lj_root = tmp_path / "LJSpeech-1.1"
    lj_root.mkdir()
    lj_ids = [f"LJ{c:03d}-{i:04d}" for c in range(1, 51) for i in range(1, 263)]
    (lj_root / "metadata.csv").write_text("".join(f"{i}|text|text\n" for i in lj_ids))
    lj = {split: [u.utt_id for u in LJSpeech(lj_root).utterances(split)] for split in SPLITS}
    assert {split: len(v) for split, v in lj.items()} == {"train": 12576, "val": 259, "test": 265}
    assert lj["val"][:3] == ["LJ001-0023", "LJ001-0054", "LJ001-0116"]
    assert lj["test"][:3] == ["LJ001-0057", "LJ001-0078", "LJ001-0175"]
    assert all(split_of(i, 0.02, 0.02) == split for split, v in lj.items() for i in v)

    audio = tmp_path / "VCTK-Corpus-0.92" / "wav48_silence_trimmed"
    for speaker in ("p225", "p226"):
        (audio / speaker).mkdir(parents=True)
        for n in range(1, 401):
            (audio / speaker / f"{speaker}_{n:03d}_mic1.flac").touch()
    vctk = VCTK(audio.parent)
    sentences = {split: sorted({VCTK.sentence_id(u) for u in vctk.utterances(split)}) for split in SPLITS}
    assert sentences["val"] == (
        "026 103 124 152 159 161 163 190 191 223 231 237 242 249 326 345 368 398".split()
    )
    assert len(sentences["test"]) == 25 and sentences["test"][:3] == ["007", "028", "029"]
    assert len(vctk.utterances("train")) == 2 * 357


def corpus_data(compose_cfg, corpus: str, root, *overrides):
    """A MelGAN data module on ``data=<corpus>`` at ``root``, set up for fitting."""
    return fitted_datamodule(
        compose_cfg("model=melgan", f"data={corpus}", f"data.root={root}", "model.batch_size=2", *overrides)
    )


def ids(utterances):
    return [u.utt_id for u in utterances]


@pytest.mark.parametrize("corpus", ["ljspeech", "vctk"])
def test_small_corpus_with_corrupt_clips_validates_on_the_same_usable_clip(compose_cfg, tmp_path, corpus):
    """24 clips, 3 corrupt: all of val and some of test as a reader without audio splits them, then the
    first training clips in hash order, where val moves on to."""
    if corpus == "ljspeech":
        root, rate = make_ljspeech(tmp_path, n=24), LJSPEECH_RATE
        reader = LJSpeech(root)
    else:  # 2 speakers x 12 sentences
        root, rate = make_vctk(tmp_path, n=12, mics=("mic1",)), VCTK_RATE
        reader = VCTK(root)
    val, test = reader.utterances("val"), reader.utterances("test")
    train = sorted(reader.utterances("train"), key=lambda u: split_hash(reader.split_key(u)))
    corrupt = [*val, *test, *train][:3]
    assert len(corrupt) == 3 and set(ids(val)) <= set(ids(corrupt))
    for utterance, kind in zip(corrupt, ("garbage", "truncated", "silent"), strict=True):
        write_bad_file(utterance.path, kind, rate)

    first, again = (corpus_data(compose_cfg, corpus, root) for _ in range(2))
    held_out = first.usable("val")
    assert held_out and ids(held_out) == ids(again.usable("val"))  # same seed, same clips
    next_usable = next(reader.split_key(u) for u in train if u not in corrupt)
    assert {reader.split_key(u) for u in held_out} == {next_usable}
    assert not set(ids(held_out)) & set(ids(corrupt) + ids(first.usable("train")))
    keys = {split: {reader.split_key(u) for u in first.reader().utterances(split)} for split in SPLITS}
    assert not keys["val"] & keys["train"]  # a whole key moved, never half a VCTK sentence
    assert next(iter(first.val_dataloader()))["audio"].abs().max() > 0.1
    first.setup("test")
    assert first.usable("test") and not set(ids(first.usable("test"))) & set(ids(held_out) + ids(corrupt))


def test_val_clips_are_looked_for_past_a_margin_of_bad_files(compose_cfg, tmp_path):
    root = make_ljspeech(tmp_path, n=24)
    val = LJSpeech(root, val_fraction=0.5, test_fraction=0).utterances("val")
    for utterance in val[:4]:  # the margin scanned for val_clips=1
        write_bad_file(utterance.path, "garbage", LJSPEECH_RATE)
    overrides = ["data.corpus.val_fraction=0.5", "data.corpus.test_fraction=0", "model.val_clips=1"]
    data = corpus_data(compose_cfg, "ljspeech", root, *overrides)
    assert data.usable("val") == [val[4]] and data.skipped["val"] == 4


def test_corpus_without_test_split_trains_with_one_warning_and_test_names_it(compose_cfg, tmp_path, caplog):
    root = make_ljspeech(tmp_path, n=24)
    with caplog.at_level(logging.WARNING, logger="audiogan.data"):
        data = corpus_data(compose_cfg, "ljspeech", root, "data.corpus.test_fraction=0")
    assert set(data.datasets) == {"train", "val"}
    (warning,) = [r.getMessage() for r in caplog.records if "eval.py" in r.getMessage()]
    assert f"no test utterances in audiogan.data.corpora.ljspeech.LJSpeech at {root}" in warning
    assert data.missing_test() in warning  # what train.py can ask before a test_after_fit run
    with pytest.raises(SplitUnavailableError, match="eval.py needs a test split"):
        data.setup("test")


# --- all readers ---

READERS = {
    "ljspeech": (LJSpeech, "LJSpeech-1.1", "metadata.csv"),
    "librispeech": (LibriSpeech, "LibriSpeech", "trans.txt"),
    "vctk": (VCTK, "VCTK-Corpus-0.92", "wav48_silence_trimmed"),
}


@pytest.mark.parametrize("name", READERS)
def test_missing_root_names_path_and_layout(tmp_path, name):
    reader, dirname, layout_word = READERS[name]
    root = tmp_path / "nowhere" / dirname
    with pytest.raises(CorpusNotFoundError) as err:
        reader(root)
    assert str(root) in str(err.value) and layout_word in str(err.value)


def test_readers_never_decode_audio(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("audio decoded while listing")

    roots = make_ljspeech(tmp_path / "lj"), make_librispeech(tmp_path / "libri"), make_vctk(tmp_path / "vctk")
    for name in ("read", "info", "SoundFile"):
        monkeypatch.setattr(f"soundfile.{name}", fail)
    corpora = [reader(root) for reader, root in zip((LJSpeech, LibriSpeech, VCTK), roots, strict=True)]
    assert all(all_utterances(c) for c in corpora)


# --- download wiring (no network: the torchaudio datasets are replaced) ---


def fake_dataset(make):
    """A stand-in for a torchaudio dataset class: records its arguments and writes what it would fetch."""
    calls = []

    def dataset(root, **kwargs):
        calls.append((root, kwargs))
        make(root, **kwargs)

    return dataset, calls


def test_ljspeech_download(tmp_path, monkeypatch):
    fake, calls = fake_dataset(lambda root, download: make_ljspeech(root))
    monkeypatch.setattr(torchaudio.datasets, "LJSPEECH", fake)
    root = tmp_path / "data" / "LJSpeech-1.1"
    corpus = LJSpeech(root, download=True)
    assert calls == [(tmp_path / "data", {"download": True})]
    assert len(all_utterances(corpus)) == 6
    LJSpeech(root, download=True)  # already there: no second download
    assert len(calls) == 1
    with pytest.raises(ValueError, match="LJSpeech-1.1"):
        LJSpeech(tmp_path / "lj", download=True)


@pytest.mark.parametrize("as_corpus_dir", [False, True])
def test_librispeech_download_per_missing_subset(tmp_path, monkeypatch, as_corpus_dir):
    fake, calls = fake_dataset(lambda root, url, download: make_librispeech(root, subsets=[url]))
    monkeypatch.setattr(torchaudio.datasets, "LIBRISPEECH", fake)
    make_librispeech(tmp_path, subsets=["dev-clean"])
    corpus = LibriSpeech(tmp_path / "LibriSpeech" if as_corpus_dir else tmp_path, download=True)
    assert calls == [
        (tmp_path, {"url": subset, "download": True}) for subset in ("test-clean", "train-clean-100")
    ]
    assert len(corpus.utterances("train")) == 6


def test_vctk_download(tmp_path, monkeypatch):
    fake, calls = fake_dataset(lambda root, download: make_vctk(root))
    monkeypatch.setattr(torchaudio.datasets, "VCTK_092", fake)
    corpus = VCTK(tmp_path / "VCTK-Corpus-0.92", download=True)
    assert calls == [(str(tmp_path), {"download": True})]
    assert len(all_utterances(corpus)) == 6
    with pytest.raises(ValueError, match="VCTK-Corpus-0.92"):
        VCTK(tmp_path / "vctk", download=True)


@pytest.mark.parametrize("name", READERS)
def test_torchaudio_unpacks_archives_where_readers_look(tmp_path, monkeypatch, name):
    """Run torchaudio's real download code on archives already in place, with the network blocked."""

    def no_network(url, *args, **kwargs):
        raise AssertionError(f"tried to download {url}")

    for module in ("ljspeech", "librispeech", "vctk"):
        monkeypatch.setattr(f"torchaudio.datasets.{module}.download_url_to_file", no_network)
    source, root = tmp_path / "source", tmp_path / "data"
    root.mkdir()
    if name == "ljspeech":
        with tarfile.open(root / "LJSpeech-1.1.tar.bz2", "w:bz2") as tar:
            tar.add(make_ljspeech(source), "LJSpeech-1.1")
        corpus = LJSpeech(root / "LJSpeech-1.1", download=True)
    elif name == "librispeech":
        for subset in ("train-clean-100", "dev-clean", "test-clean"):
            with tarfile.open(root / f"{subset}.tar.gz", "w:gz") as tar:
                tar.add(make_librispeech(source / subset, subsets=[subset]) / subset, f"LibriSpeech/{subset}")
        corpus = LibriSpeech(root, download=True)
    else:  # the VCTK zip holds txt/ and wav48_silence_trimmed/ at its top level
        vctk = make_vctk(source)
        with zipfile.ZipFile(root / "VCTK-Corpus-0.92.zip", "w") as archive:
            for path in sorted(vctk.rglob("*")):
                archive.write(path, path.relative_to(vctk).as_posix())
        corpus = VCTK(root / "VCTK-Corpus-0.92", download=True)
    assert len(all_utterances(corpus)) == {"ljspeech": 6, "librispeech": 18, "vctk": 6}[name]


# --- scan ---


def warnings_about(caplog, path):
    return [r for r in caplog.records if r.levelno == logging.WARNING and str(path) in r.getMessage()]


def test_scan_skips_each_bad_file_with_one_warning(tmp_path, caplog):
    root = make_ljspeech(tmp_path, n=len(BAD_KINDS) + 2)
    corpus = LJSpeech(root, val_fraction=0, test_fraction=0)
    utterances = corpus.utterances("train")
    bad = {utt.path: kind for utt, kind in zip(utterances, BAD_KINDS, strict=False)}
    for path, kind in bad.items():
        write_bad_file(path, kind, LJSPEECH_RATE)
    (root / "wavs" / f"{utterances[-1].utt_id}.wav").unlink()  # listed in metadata.csv, not on disk
    missing = utterances[-1].path

    with caplog.at_level(logging.INFO, logger="audiogan.data"):
        result = scan.usable_utterances(utterances, LJSPEECH_RATE, min_samples=round(0.1 * LJSPEECH_RATE))

    assert [u.path for u in result.usable] == [utterances[-2].path]
    assert {u.path for u, _ in result.skipped} == set(bad) | {missing}
    for path in [*bad, missing]:
        assert len(warnings_about(caplog, path)) == 1, path
    reasons = {u.path: reason for u, reason in result.skipped}
    assert "empty" in reasons[next(p for p, k in bad.items() if k == "empty")]
    assert "silent" in reasons[next(p for p, k in bad.items() if k == "silent")]
    assert "too short" in reasons[next(p for p, k in bad.items() if k == "short")]
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audio scan:")]
    assert len(summary) == 1 and f"skipped {len(bad) + 1} of {len(utterances)} utterances" in summary[0]


def test_scan_all_good_logs_info_summary(tmp_path, caplog):
    utterances = all_utterances(LJSpeech(make_ljspeech(tmp_path, n=3)))
    with caplog.at_level(logging.INFO, logger="audiogan.data"):
        result = scan.usable_utterances(utterances, 16_000, min_samples=1)
    assert result.usable == utterances and result.skipped == []
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "skipped 0 of 3" in caplog.records[0].getMessage()


def test_scan_accepts_stereo_and_load_audio_mixes_it_down(tmp_path):
    root = make_ljspeech(tmp_path, n=1)
    left, right = tone(LJSPEECH_RATE, seed=1), tone(LJSPEECH_RATE, seed=2)
    path = write_audio(root / "wavs" / "LJ001-0001.wav", np.stack([left, right], axis=1), LJSPEECH_RATE)
    result = scan.usable_utterances(all_utterances(LJSpeech(root)), LJSPEECH_RATE, min_samples=1)
    assert len(result.usable) == 1
    audio = load_audio(path, LJSPEECH_RATE)
    assert audio.shape == (len(left),)
    torch.testing.assert_close(audio, torch.from_numpy((left + right) / 2), atol=1e-4, rtol=0)


@pytest.mark.parametrize("rate", [16_000, 22_050, 24_000])
def test_vctk_48k_audio_is_resampled_to_requested_rate(tmp_path, rate):
    utterance = all_utterances(VCTK(make_vctk(tmp_path, n=1)))[0]
    assert load_audio(utterance.path, VCTK_RATE).shape == (round(VCTK_RATE * SECONDS),)
    assert load_audio(utterance.path, rate).shape == (round(rate * SECONDS),)


def test_scan_cache_skips_decoding_unchanged_files(tmp_path, monkeypatch, caplog):
    root = make_ljspeech(tmp_path / "corpus", n=4)
    utterances = all_utterances(LJSpeech(root))
    write_bad_file(utterances[0].path, "silent", LJSPEECH_RATE)
    decoded = []

    def counting_load_audio(path, *args, **kwargs):
        decoded.append(path)
        return load_audio(path, *args, **kwargs)

    monkeypatch.setattr(scan, "load_audio", counting_load_audio)
    cache_dir = tmp_path / "cache"

    def run(sample_rate=16_000, min_samples=100):
        decoded.clear()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="audiogan.data"):
            return scan.usable_utterances(utterances, sample_rate, min_samples, cache_dir=cache_dir)

    first = run()
    assert len(decoded) == 4 and len(first.skipped) == 1
    second = run()
    assert decoded == [] and second == first
    assert len(warnings_about(caplog, utterances[0].path)) == 1  # bad files are still reported

    write_audio(utterances[1].path, tone(LJSPEECH_RATE, seconds=0.5), LJSPEECH_RATE)  # changed file
    run()
    assert decoded == [utterances[1].path]
    run(sample_rate=22_050)
    assert len(decoded) == 4
    run(min_samples=200)
    assert len(decoded) == 4

    assert sorted(os.listdir(cache_dir)) == sorted(  # no temp files left behind
        f"scan-sr{sr}-min{m}-sil0.0001.json" for sr, m in [(16_000, 100), (22_050, 100), (16_000, 200)]
    )
    entries = json.loads((cache_dir / "scan-sr16000-min100-sil0.0001.json").read_text())
    assert set(entries) == {os.path.abspath(u.path) for u in utterances}


def test_scan_ignores_corrupt_cache(tmp_path, caplog):
    utterances = all_utterances(LJSpeech(make_ljspeech(tmp_path / "corpus", n=2)))
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "scan-sr16000-min1-sil0.0001.json").write_text("{not json")
    result = scan.usable_utterances(utterances, 16_000, 1, cache_dir=cache_dir)
    assert result.usable == utterances
    json.loads((cache_dir / "scan-sr16000-min1-sil0.0001.json").read_text())  # rewritten whole


def test_interrupted_scan_keeps_cached_verdicts(tmp_path, monkeypatch):
    utterances = all_utterances(LJSpeech(make_ljspeech(tmp_path / "corpus", n=3)))
    monkeypatch.setattr(scan, "FLUSH_SECONDS", 0.0)
    decoded = []

    def interrupted_load_audio(path, *args, **kwargs):
        if len(decoded) == 2:
            raise KeyboardInterrupt
        decoded.append(path)

    monkeypatch.setattr(scan, "load_audio", interrupted_load_audio)
    with pytest.raises(KeyboardInterrupt):
        scan.usable_utterances(utterances, 16_000, 1, cache_dir=tmp_path / "cache")
    entries = json.loads((tmp_path / "cache" / "scan-sr16000-min1-sil0.0001.json").read_text())
    assert set(entries) == {os.path.abspath(p) for p in decoded}
