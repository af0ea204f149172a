"""The Speech Commands reader (SC09 digits by default) on a tiny corpus in the real layout."""

from __future__ import annotations

import tarfile

import pytest
import torchaudio
from corpus_fixtures import DIGIT_WORDS, make_speech_commands

from audiogan.data.corpora.base import SPLITS, CorpusNotFoundError
from audiogan.data.corpora.speech_commands import SpeechCommands

SPEAKERS = ("0a1b2c3d", "1b2c3d4e", "2c3d4e5f", "3d4e5f60")


def test_splits_follow_the_list_files(tmp_path):
    corpus = SpeechCommands(make_speech_commands(tmp_path, takes=2))
    speakers = {split: {u.speaker for u in corpus.utterances(split)} for split in SPLITS}
    assert speakers == {"train": set(SPEAKERS[:2]), "val": {SPEAKERS[2]}, "test": {SPEAKERS[3]}}
    assert [len(corpus.utterances(split)) for split in SPLITS] == [40, 20, 20]
    for split in SPLITS:
        ids = [u.utt_id for u in corpus.utterances(split)]
        assert ids == sorted(ids)


def test_digits_only_with_word_speaker_and_id(tmp_path):
    root = make_speech_commands(tmp_path, extra_words=("yes", "marvin"))
    utterances = [u for split in SPLITS for u in SpeechCommands(root).utterances(split)]
    assert {u.text for u in utterances} == set(DIGIT_WORDS)
    first = SpeechCommands(root).utterances("train")[0]
    assert first.path == root / "eight" / "0a1b2c3d_nohash_0.wav"
    assert (first.text, first.speaker, first.utt_id) == ("eight", "0a1b2c3d", "eight/0a1b2c3d_nohash_0")


def test_other_words_on_request(tmp_path):
    corpus = SpeechCommands(make_speech_commands(tmp_path), words=("yes", "one"))
    assert {u.text for u in corpus.utterances("val")} == {"yes", "one"}


def test_missing_root_list_or_word(tmp_path):
    root = tmp_path / "nowhere" / "speech_commands_v0.02"
    with pytest.raises(CorpusNotFoundError) as err:
        SpeechCommands(root)
    assert str(root) in str(err.value) and "_nohash_" in str(err.value)
    corpus = make_speech_commands(tmp_path, words=DIGIT_WORDS[:3], extra_words=())
    with pytest.raises(CorpusNotFoundError, match="three"):
        SpeechCommands(corpus)
    (corpus / "testing_list.txt").unlink()
    with pytest.raises(CorpusNotFoundError, match="testing_list.txt"):
        SpeechCommands(corpus, words=DIGIT_WORDS[:3])


def test_download_wiring(tmp_path, monkeypatch):
    calls = []

    def fake_speechcommands(root, url, folder_in_archive, download):
        """Writes the corpus where torchaudio unpacks it: <root>/<folder_in_archive>/<url>."""
        calls.append((root, url, folder_in_archive, download))
        make_speech_commands(root / folder_in_archive)

    monkeypatch.setattr(torchaudio.datasets, "SPEECHCOMMANDS", fake_speechcommands)
    root = tmp_path / "data" / "SpeechCommands" / "speech_commands_v0.02"
    corpus = SpeechCommands(root, download=True)
    assert calls == [(tmp_path / "data", "speech_commands_v0.02", "SpeechCommands", True)]
    assert len(corpus.utterances("train")) == 20
    SpeechCommands(root, download=True)  # already there: no second download
    assert len(calls) == 1
    with pytest.raises(ValueError, match="speech_commands_v0.02"):
        SpeechCommands(tmp_path / "sc", download=True)


def test_torchaudio_unpacks_the_archive_where_the_reader_looks(tmp_path, monkeypatch):
    """torchaudio's real download code on an archive already in place, with the network blocked."""

    def no_network(url, *args, **kwargs):
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr("torchaudio.datasets.speechcommands.download_url_to_file", no_network)
    source, data = make_speech_commands(tmp_path / "source"), tmp_path / "data"
    data.mkdir()
    with tarfile.open(data / "speech_commands_v0.02.tar.gz", "w:gz") as tar:
        tar.add(source, ".")  # the real archive holds the word dirs and lists at its top level
    corpus = SpeechCommands(data / "SpeechCommands" / "speech_commands_v0.02", download=True)
    assert [len(corpus.utterances(split)) for split in SPLITS] == [20, 10, 10]
