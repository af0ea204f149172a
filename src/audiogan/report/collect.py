"""What a report shows, read from run dirs: each run's samples folder at the chosen checkpoint and its clips,
every clip's audio files with their labels and roles (input, reference, output, baseline)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from audiogan.callbacks.samples import MANIFEST
from audiogan.runs.run_dir import RunDir, RunDirError
from audiogan.samples import SAMPLE_ROLES

# the role of audio in a samples folder without samples.json, until collect() sets it
UNDECLARED = "undeclared"


@dataclass(frozen=True)
class Take:
    """One audio file of a clip: its label (``generated``, ``griffinlim``, ...) and its role."""

    label: str
    role: str
    path: Path


@dataclass
class ShownRun:
    """A run as a report shows it: ``label`` names it on the page (family/run folder, unique in the report),
    ``samples`` is the folder of the checkpoint shown, ``clips`` {clip name: takes in listening order}."""

    run: RunDir
    label: str
    samples: Path
    clips: dict[str, list[Take]]


def natural_key(name: str) -> list:
    """Sorts ``clip2`` before ``clip10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def read_clips(folder: Path) -> dict[str, list[Take]]:
    """The clips with audio of a samples folder, from its ``samples.json``; a folder written before that file
    existed gives every ``<clip>_<label>.wav`` the role ``UNDECLARED`` (see :func:`collect`)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        clips: dict[str, list[Take]] = {}
        for wav in sorted(folder.glob("*_*.wav")):
            clip, label = wav.stem.split("_", 1)
            clips.setdefault(clip, []).append(Take(label, UNDECLARED, wav))
        return dict(sorted(clips.items(), key=lambda item: natural_key(item[0])))
    try:
        entries = json.loads(manifest.read_text())
        clips = {
            clip: [
                Take(label, role, folder / f"{clip}_{label}.wav") for label, role in entry["audio"].items()
            ]
            for clip, entry in entries.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunDirError(
            f"{manifest}: damaged, expected {{clip: {{'audio': {{label: role}}}}}} ({err})"
        ) from err
    for takes in clips.values():
        for take in takes:
            if take.role not in SAMPLE_ROLES or not take.path.is_file():
                raise RunDirError(
                    f"{manifest} lists {take.path.name} as {take.role!r}; expected that file, "
                    f"with a role among {SAMPLE_ROLES}"
                )
    return dict(sorted(clips.items(), key=lambda item: natural_key(item[0])))


def collect(paths: list[str], checkpoint: str | int = "best", max_clips: int | None = None) -> list[ShownRun]:
    """The runs at ``paths``, each with the samples of ``checkpoint`` (``best``, ``last`` or a batch count),
    keeping the first ``max_clips`` clip names of all runs together (None: all)."""
    if not paths:
        raise RunDirError("runs= is empty: expected run dirs, e.g. runs=[outputs/melgan/runs/<time>_<id>]")
    shown = []
    for path in paths:
        run = RunDir(path)
        samples = run.samples_at(checkpoint)
        clips = read_clips(samples)
        if not clips:
            raise RunDirError(f"{samples} holds no audio samples (<clip>_<label>.wav)")
        shown.append(
            ShownRun(run, _unique(f"{run.family}/{run.name}", [s.label for s in shown]), samples, clips)
        )
    names = sorted({clip for s in shown for clip in s.clips}, key=natural_key)[:max_clips]
    declared = {
        t.label: t.role for s in shown for takes in s.clips.values() for t in takes if t.role != UNDECLARED
    }
    for s in shown:
        s.clips = {clip: _with_roles(takes, declared) for clip, takes in s.clips.items() if clip in names}
    return shown


def _with_roles(takes: list[Take], declared: dict[str, str]) -> list[Take]:
    """A run written before ``samples.json`` takes each label's role from the runs that declare it (else
    ``output``), so its rows line up with theirs; in listening order."""
    takes = [replace(t, role=declared.get(t.label, "output")) if t.role == UNDECLARED else t for t in takes]
    return sorted(takes, key=lambda take: SAMPLE_ROLES.index(take.role))


def clip_names(runs: list[ShownRun]) -> list[str]:
    """Every clip name of the runs, in natural order."""
    return sorted({clip for run in runs for clip in run.clips}, key=natural_key)


def _unique(label: str, taken: list[str]) -> str:
    count = 1
    candidate = label
    while candidate in taken:
        count += 1
        candidate = f"{label} ({count})"
    return candidate
