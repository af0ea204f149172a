"""``tiny_speech``: a small multi-speaker English corpus synthesised with eSpeak NG, built once on demand.

It lets every model family train and test without downloads: parallel sentences across voices for
voice conversion, digits "zero".."nine" for an SC09-like set. Layout under ``root/tiny_speech/``::

    wavs/<speaker>/<utt_id>.wav     22,050 Hz mono 16-bit PCM
    metadata.csv                    utt_id|speaker|text|sentence_id|kind   (kind: sentence | digit)
    build.json                      version + config hash; written last, marks the corpus complete

The same ``sentence_id`` across speakers means the same words and prosody settings (a parallel pair).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path

import soundfile as sf

from audiogan.data.corpora.base import Corpus, Utterance, require_dir
from audiogan.data.corpora.espeak import SAMPLE_RATE, Espeak

CORPUS_VERSION = 1  # bump when the build changes in a way the config hash cannot see
DIRNAME = "tiny_speech"
SUBSETS = ("all", "sentences", "digits")
KINDS = {"sentences": "sentence", "digits": "digit"}
COLUMNS = ("utt_id", "speaker", "text", "sentence_id", "kind")
LAYOUT = "tiny_speech/{metadata.csv, build.json, wavs/<speaker>/<utt_id>.wav}"


@dataclass(frozen=True)
class Voice:
    """One speaker: an eSpeak voice (language + variant from espeak-ng-data/voices/!v) and its prosody."""

    espeak_name: str  # e.g. "en-us+f2"
    pitch: int  # 0-100, 50 = the voice's own base pitch
    rate: int  # words per minute, 80-450 (eSpeak's default is 175)
    pitch_range: int = 50  # intonation range 0-100 (0 = monotone)


# Six speakers whose median F0 runs ~80, 105, 127, 160, 200, 265 Hz; accents and variants differ in timbre.
VOICES: dict[str, Voice] = {
    "gb_m1": Voice("en+m1", pitch=30, rate=150),
    "us_m3": Voice("en-us+m3", pitch=50, rate=165),
    "sc_m7": Voice("en-gb-scotland+m7", pitch=70, rate=145),
    "gb_f4": Voice("en+f4", pitch=40, rate=155),
    "us_f2": Voice("en-us+f2", pitch=55, rate=170),
    "us_f5": Voice("en-us+f5", pitch=75, rate=160),
}

# Every speaker reads every sentence (2-4 s each).
SENTENCES: tuple[str, ...] = (
    "The old bridge was painted green before the summer festival.",
    "She found a small wooden box under the kitchen table.",
    "Please remember to close the window when it starts raining.",
    "The train to the coast leaves early every Sunday morning.",
    "My brother bought fresh bread and cheese at the market.",
    "A quiet wind moved slowly through the tall grass.",
    "We watched the boats return to the harbour at sunset.",
    "The teacher asked everyone to read the first chapter again.",
    "Their garden is full of roses, tulips and bright sunflowers.",
    "He forgot his umbrella and walked home in the rain.",
    "The library stays open late on Thursday evenings.",
    "Our neighbours are planning a long trip across the mountains.",
    "The coffee was too hot, so she waited a minute.",
    "A yellow kite was caught in the branches of the oak tree.",
    "They painted the fence white during the long weekend.",
    "The children laughed when the puppy chased its own tail.",
    "Could you pass me the salt and the pepper, please?",
    "The museum has a new room full of ancient maps.",
    "Snow covered the village road for most of the winter.",
    "He plays the piano every evening after dinner.",
    "The bakery on the corner sells the best apple pie.",
    "We should leave soon if we want to catch the bus.",
    "The river was calm and the water was very clear.",
    "She wrote a long letter to her grandmother in Spain.",
    "The meeting was moved to the large room upstairs.",
    "A family of ducks crossed the path in front of us.",
    "The lamp in the hallway has been flickering all week.",
    "Fresh oranges and lemons filled the basket on the table.",
    "The pilot announced that we would land in a few minutes.",
    "After the storm, the sky turned a soft shade of pink.",
)

DIGITS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Each speaker says each digit once per take; a take shifts (rate in words/min, pitch) from the voice's own.
DIGIT_TAKES: tuple[tuple[int, int], ...] = ((0, 0), (-25, 6), (25, -6))


def _config(
    voices: Mapping[str, Voice],
    sentences: Sequence[str],
    digits: Sequence[str],
    takes: Sequence[tuple[int, int]],
) -> dict:
    return {
        "version": CORPUS_VERSION,
        "sample_rate": SAMPLE_RATE,
        "voices": {name: asdict(voice) for name, voice in voices.items()},
        "sentences": list(sentences),
        "digits": list(digits),
        "digit_takes": [list(take) for take in takes],
    }


def _config_hash(config: dict) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _is_complete(target: Path, config_hash: str) -> bool:
    try:
        return json.loads((target / "build.json").read_text())["config_hash"] == config_hash
    except (OSError, ValueError, KeyError):
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` so concurrent builders take turns (the loser then reuses)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, or the process dies
        yield


def _plan(
    voices: Mapping[str, Voice],
    sentences: Sequence[str],
    digits: Sequence[str],
    takes: Sequence[tuple[int, int]],
) -> list[dict]:
    """Every utterance to synthesise: its metadata row plus the eSpeak settings."""
    plan = []
    for speaker, voice in voices.items():
        groups = [(f"s{i:02d}", "sentence", text, 0, 0) for i, text in enumerate(sentences)]
        groups += [
            (f"{word}_t{t}", "digit", word, *shift) for word in digits for t, shift in enumerate(takes)
        ]
        for sentence_id, kind, text, d_rate, d_pitch in groups:
            plan.append(
                {
                    "utt_id": f"{speaker}_{sentence_id}",
                    "speaker": speaker,
                    "text": text,
                    "sentence_id": sentence_id,
                    "kind": kind,
                    "voice": voice.espeak_name,
                    "rate": voice.rate + d_rate,
                    "pitch": voice.pitch + d_pitch,
                    "pitch_range": voice.pitch_range,
                    "seed": zlib.crc32(f"{speaker}_{sentence_id}".encode()) & 0x7FFFFFFF,  # breath noise
                }
            )
    return plan


def _build(out: Path, config: dict, plan: list[dict]) -> None:
    with Espeak() as espeak:
        for item in plan:
            audio = espeak.synthesize(
                item["text"], item["voice"], item["rate"], item["pitch"], item["pitch_range"], item["seed"]
            )
            path = out / "wavs" / item["speaker"] / f"{item['utt_id']}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        espeak_version = espeak.version
    with open(out / "metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="|", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([item[column] for column in COLUMNS] for item in plan)
    info = {
        "config_hash": _config_hash(config),
        "utterances": len(plan),
        "espeak_ng": espeak_version,
        **config,
    }
    (out / "build.json").write_text(json.dumps(info, indent=1) + "\n")


def _remove_temporaries(root: Path) -> None:
    """Delete build leftovers; only lock holders create them, so under the lock any found are stale."""
    for path in root.glob(f".{DIRNAME}.tmp-*"):
        shutil.rmtree(path, ignore_errors=True)


def ensure_tiny_speech(
    root: str | Path,
    voices: Mapping[str, Voice] = VOICES,
    sentences: Sequence[str] = SENTENCES,
    digits: Sequence[str] = DIGITS,
    digit_takes: Sequence[tuple[int, int]] = DIGIT_TAKES,
) -> Path:
    """Return ``root/tiny_speech``, synthesising it first unless a complete build of this config is there.

    The build goes to a temporary sibling that is renamed into place only once complete, under a file
    lock, so an interrupted build never looks complete and concurrent callers build it once. A build
    with other parameters (e.g. a reduced corpus for tests) replaces the existing one.
    """
    for name in voices:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ValueError(
                f"speaker name {name!r} must be letters, digits, '_' or '-' (it names a directory)"
            )
    if not voices or not (sentences or (digits and digit_takes)):
        raise ValueError("tiny_speech needs at least one voice and one sentence or digit take")
    root = Path(root).expanduser()
    target = root / DIRNAME
    config = _config(voices, sentences, digits, digit_takes)
    if _is_complete(target, _config_hash(config)):
        return target
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{DIRNAME}.lock"):
        if _is_complete(target, _config_hash(config)):  # another process built it while we waited
            return target
        _remove_temporaries(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{DIRNAME}.tmp-", dir=root))
        try:
            _build(tmp, config, _plan(voices, sentences, digits, digit_takes))
            if target.exists():  # an outdated build: move it aside (deleted below) to free the name
                os.replace(target, tempfile.mkdtemp(prefix=f".{DIRNAME}.tmp-", dir=root))
            os.replace(tmp, target)
        finally:
            _remove_temporaries(root)
    return target


def _split_groups(
    texts: Mapping[str, str], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, str]:
    """Assign whole groups (``texts``: group -> its words) to splits in a stable hash order.

    Counts are fixed, at least one group per non-zero fraction, since with ~30 groups the per-key
    threshold of :func:`split_of` can leave val or test empty. Held-out groups take distinct texts
    first, so every digit keeps takes in train.
    """
    ordered = sorted(texts, key=lambda group: hashlib.sha1(f"{seed}:{group}".encode()).digest())
    n_test = max(1, round(test_fraction * len(ordered))) if test_fraction > 0 else 0
    n_val = max(1, round(val_fraction * len(ordered))) if val_fraction > 0 else 0
    if ordered and n_test + n_val >= len(ordered):
        raise ValueError(
            f"tiny_speech: {len(ordered)} groups cannot fill val ({val_fraction}) and test ({test_fraction}) "
            "and still leave a training set"
        )
    seen: set[str] = set()
    firsts, repeats = [], []
    for group in ordered:
        (repeats if texts[group] in seen else firsts).append(group)
        seen.add(texts[group])
    split = dict.fromkeys(ordered, "train")
    for i, group in enumerate((firsts + repeats)[: n_test + n_val]):
        split[group] = "test" if i < n_test else "val"
    return split


class TinySpeech(Corpus):
    """Reader of the ``tiny_speech`` corpus under ``root`` (built there first when ``build`` is true).

    ``subset`` picks sentences, digits or both. Splits are per group (one sentence, or one take of one
    digit, across all speakers), so parallel recordings never straddle splits; each kind is split on
    its own, so an utterance lands in the same split whatever the subset.
    """

    name = DIRNAME

    def __init__(
        self,
        root: str | Path,
        subset: str = "all",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        build: bool = True,
    ):
        if subset not in SUBSETS:
            raise ValueError(f"tiny_speech: unknown subset {subset!r}; expected one of {SUBSETS}")
        if val_fraction < 0 or test_fraction < 0:
            raise ValueError(
                f"tiny_speech: fractions must be >= 0, got val={val_fraction} test={test_fraction}"
            )
        root = Path(root).expanduser()
        self.dir = ensure_tiny_speech(root) if build else require_dir(root / DIRNAME, self.name, LAYOUT)
        with open(self.dir / "metadata.csv", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="|"))
        kinds = [KINDS[subset]] if subset in KINDS else list(KINDS.values())
        self._rows = [row for row in rows if row["kind"] in kinds]
        self._split: dict[str, str] = {}
        for kind in kinds:
            texts = {row["sentence_id"]: row["text"] for row in rows if row["kind"] == kind}
            self._split.update(_split_groups(texts, val_fraction, test_fraction, seed))
        self._speakers = tuple(sorted({row["speaker"] for row in rows}))

    @property
    def speakers(self) -> tuple[str, ...]:
        return self._speakers

    def utterances(self, split: str) -> list[Utterance]:
        """Utterances of ``split`` in the chosen subset, sorted by ``utt_id``."""
        self.check_split(split)
        rows = sorted(
            (row for row in self._rows if self._split[row["sentence_id"]] == split), key=itemgetter("utt_id")
        )
        return [self._utterance(row) for row in rows]

    def _utterance(self, row: dict) -> Utterance:
        path = self.dir / "wavs" / row["speaker"] / f"{row['utt_id']}.wav"
        return Utterance(path=path, speaker=row["speaker"], text=row["text"], utt_id=row["utt_id"])
