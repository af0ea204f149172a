"""Tiny corpora written in their real on-disk layouts, for tests of readers, data modules and the CLI.

Every clip is a short sine plus a little noise at the corpus' native rate, distinct per clip.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

SECONDS = 0.3
LJSPEECH_RATE, LIBRISPEECH_RATE, VCTK_RATE = 22_050, 16_000, 48_000
LIBRISPEECH_SUBSETS = (
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
)
BAD_KINDS = ("garbage", "truncated", "zero_bytes", "empty", "silent", "short")


def tone(rate: int, seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """A float32 sine plus noise, loud enough to pass the silence check."""
    t = np.arange(round(rate * seconds)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (200 + 10 * seed) * t) + 0.01 * noise).astype(np.float32)


def write_audio(path: str | os.PathLike, audio: np.ndarray, rate: int) -> Path:
    """Write ``[T]`` or ``[T, channels]`` samples as 16-bit PCM; the format follows the suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


def write_bad_file(path: str | os.PathLike, kind: str, rate: int) -> Path:
    """Overwrite ``path`` with a file that :func:`audiogan.audio.io.load_audio` must reject.

    ``short`` is 10 ms long: reject it with ``min_samples`` above that.
    """
    path = Path(path)
    if kind == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated":
        write_audio(path, tone(rate), rate)
        path.write_bytes(path.read_bytes()[:30])
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "empty":
        write_audio(path, np.zeros(0, np.float32), rate)
    elif kind == "silent":
        write_audio(path, np.zeros(round(rate * SECONDS), np.float32), rate)
    elif kind == "short":
        write_audio(path, tone(rate, seconds=0.01), rate)
    else:
        raise ValueError(f"unknown bad file kind {kind!r}; expected one of {BAD_KINDS}")
    return path


def ljspeech_text(i: int) -> str:
    """The normalized transcript of clip ``i``; quotes check that metadata.csv is read with quoting off."""
    return f'Mister Smith said "clip {i}" twice.'


def make_ljspeech(root: str | os.PathLike, n: int = 6) -> Path:
    """Write ``root/LJSpeech-1.1`` with clips ``LJ001-0001`` .. ``LJ001-<n>``; returns that directory."""
    corpus = Path(root) / "LJSpeech-1.1"
    lines = []
    for i in range(1, n + 1):
        utt_id = f"LJ001-{i:04d}"
        write_audio(corpus / "wavs" / f"{utt_id}.wav", tone(LJSPEECH_RATE, seed=i), LJSPEECH_RATE)
        lines.append(f'{utt_id}|Mr. Smith said "clip {i}" 2x.|{ljspeech_text(i)}\n')
    (corpus / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    return corpus


def librispeech_speakers(subset: str, speakers: int = 2) -> list[str]:
    """Speaker ids are disjoint between subsets, as in the real corpus."""
    base = 100 * (1 + LIBRISPEECH_SUBSETS.index(subset))
    return [str(base + k) for k in range(speakers)]


def make_librispeech(
    root: str | os.PathLike,
    subsets: Sequence[str] = ("train-clean-100", "dev-clean", "test-clean"),
    speakers: int = 2,
    n: int = 3,
) -> Path:
    """Write ``root/LibriSpeech/<subset>/<speaker>/<chapter>/...``, one chapter per speaker.

    Utterance ``<spk>-<chap>-<u>`` has text ``"UTTERANCE <u> OF SPEAKER <spk>"``. Returns the LibriSpeech dir.
    """
    corpus = Path(root) / "LibriSpeech"
    for subset in subsets:
        for speaker in librispeech_speakers(subset, speakers):
            chapter = str(10 * int(speaker) + 1)
            chapter_dir = corpus / subset / speaker / chapter
            lines = []
            for u in range(n):
                utt_id = f"{speaker}-{chapter}-{u:04d}"
                write_audio(chapter_dir / f"{utt_id}.flac", tone(LIBRISPEECH_RATE, seed=u), LIBRISPEECH_RATE)
                lines.append(f"{utt_id} UTTERANCE {u} OF SPEAKER {speaker}\n")
            (chapter_dir / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
    return corpus


def vctk_text(sentence: int) -> str:
    """Sentence ``<nnn>`` reads the same for every speaker, like the shared elicitation paragraph."""
    return f"Please call Stella, sentence {sentence}."


def make_vctk(
    root: str | os.PathLike,
    speakers: Sequence[str] = ("p225", "p226"),
    n: int = 3,
    mics: Sequence[str] = ("mic1", "mic2"),
    untranscribed: Sequence[str] = (),
) -> Path:
    """Write ``root/VCTK-Corpus-0.92`` with sentences ``001`` .. ``<n>`` per speaker; returns that dir.

    Speakers in ``untranscribed`` get no ``txt/<speaker>`` dir, like p315 in the real corpus.
    """
    corpus = Path(root) / "VCTK-Corpus-0.92"
    audio_dir = corpus / "wav48_silence_trimmed"
    for speaker in speakers:
        for s in range(1, n + 1):
            utt_id = f"{speaker}_{s:03d}"
            for mic in mics:
                write_audio(audio_dir / speaker / f"{utt_id}_{mic}.flac", tone(VCTK_RATE, seed=s), VCTK_RATE)
            if speaker not in untranscribed:
                txt = corpus / "txt" / speaker / f"{utt_id}.txt"
                txt.parent.mkdir(parents=True, exist_ok=True)
                txt.write_text(vctk_text(s) + "\n")
    (audio_dir / "log.txt").write_text("trimming log, not a speaker\n")  # the real corpus has one too
    return corpus


SPEECH_COMMANDS_RATE = 16_000
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def word_tone(word_index: int, take: int, seconds: float = 1.0) -> np.ndarray:
    """A tone whose pitch names the word (200 Hz apart), with a small per-take shift and noise.

    Speech Commands clips are 1 s (16,000 samples), shorter than SC09's 16,384-sample slices.
    """
    t = np.arange(round(SPEECH_COMMANDS_RATE * seconds)) / SPEECH_COMMANDS_RATE
    noise = np.random.default_rng(100 * word_index + take).standard_normal(t.size)
    pitch = 300 + 200 * word_index + 7 * take
    return (0.3 * np.sin(2 * np.pi * pitch * t) + 0.01 * noise).astype(np.float32)


def make_speech_commands(
    root: str | os.PathLike,
    words: Sequence[str] = DIGIT_WORDS,
    speakers: Sequence[str] = ("0a1b2c3d", "1b2c3d4e", "2c3d4e5f", "3d4e5f60"),
    validation: Sequence[str] = ("2c3d4e5f",),
    testing: Sequence[str] = ("3d4e5f60",),
    takes: int = 1,
    extra_words: Sequence[str] = ("yes",),
) -> Path:
    """Write ``root/speech_commands_v0.02`` with ``<word>/<speaker>_nohash_<take>.wav`` and both lists.

    Every clip of a speaker in ``validation`` / ``testing`` is listed there, as in the real corpus.
    Clips of ``words[i]`` are :func:`word_tone` ``(i, ...)``, so a classifier can learn the words.
    ``extra_words`` get clips too (and list entries) that an SC09 reader must leave out.
    Returns the ``speech_commands_v0.02`` dir.
    """
    corpus = Path(root) / "speech_commands_v0.02"
    lists: dict[str, list[str]] = {"validation_list.txt": [], "testing_list.txt": []}
    for w, word in enumerate([*words, *extra_words]):
        for s, speaker in enumerate(speakers):
            for take in range(takes):
                relative = f"{word}/{speaker}_nohash_{take}.wav"
                write_audio(corpus / relative, word_tone(w, s * takes + take), SPEECH_COMMANDS_RATE)
                if speaker in validation:
                    lists["validation_list.txt"].append(relative)
                elif speaker in testing:
                    lists["testing_list.txt"].append(relative)
    for filename, lines in lists.items():
        (corpus / filename).write_text("".join(f"{line}\n" for line in lines))
    return corpus


VCTK_DEMAND_RATE = 48_000


def make_vctk_demand(
    root: str | os.PathLike,
    train_speakers: Sequence[str] = ("p226", "p287"),
    test_speakers: Sequence[str] = ("p232",),
    n: int = 4,
    missing_noisy: Sequence[str] = (),
) -> Path:
    """Write the Valentini layout under ``root``: ``<speaker>_<nnn>.wav`` in matching clean/noisy dirs.

    The noisy twin is the clean clip plus louder noise of its own seed; ids in ``missing_noisy`` get
    no noisy file. Returns ``root``.
    """
    root = Path(root)
    for speakers, clean_dir, noisy_dir in (
        (train_speakers, "clean_trainset_28spk_wav", "noisy_trainset_28spk_wav"),
        (test_speakers, "clean_testset_wav", "noisy_testset_wav"),
    ):
        for k, speaker in enumerate(speakers):
            for s in range(1, n + 1):
                utt_id = f"{speaker}_{s:03d}"
                seed = 100 * k + s
                clean = tone(VCTK_DEMAND_RATE, seed=seed)
                write_audio(root / clean_dir / f"{utt_id}.wav", clean, VCTK_DEMAND_RATE)
                if utt_id not in missing_noisy:
                    hiss = 0.05 * np.random.default_rng(seed + 10_000).standard_normal(clean.size)
                    noisy = (clean + hiss).astype(np.float32)
                    write_audio(root / noisy_dir / f"{utt_id}.wav", noisy, VCTK_DEMAND_RATE)
    return root
