"""The report folder: ``index.html`` (CSS and script inline, no network) and ``assets/`` (audio linked or
copied from the run dirs, spectrogram and metric PNGs); a blind one also has the key, ``key.json``."""

from __future__ import annotations

import datetime
import json
import os
import shutil
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import quote

from audiogan.report.answers import FORMAT, RATINGS
from audiogan.report.blind import KEY_FILE, shuffle_columns
from audiogan.report.collect import ShownRun, Take, clip_names
from audiogan.report.plots import plot_metrics
from audiogan.report.spectrograms import colour_stops, log_mels_db, save_spectrogram, shared_scale
from audiogan.runs.run_dir import RunDirError
from audiogan.samples import SAMPLE_ROLES
from audiogan.utils.files import atomic_write

ANCHOR_ROLES = ("input", "reference")  # what a blind page plays once per clip, above the hidden columns


def _asset(name: str) -> str:
    return resources.files("audiogan.report").joinpath("assets", name).read_text()


def place(source: Path, destination: Path) -> None:
    """``destination`` becomes a hard link to ``source``, or a copy where links cannot be made."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


class ReportWriter:
    """Writes one report of ``runs`` into ``folder``; a report already there is replaced (its assets too, so
    none of an open report's files stays beside a blind one)."""

    def __init__(self, runs: list[ShownRun], folder: str | os.PathLike, checkpoint: str | int):
        self.runs, self.folder, self.checkpoint = runs, Path(folder), checkpoint
        if (self.folder / "index.html").is_file():
            shutil.rmtree(self.folder / "assets", ignore_errors=True)
            (self.folder / KEY_FILE).unlink(missing_ok=True)

    def _url(self, path: Path) -> str:
        return quote(path.relative_to(self.folder).as_posix())

    def _audio(self, take: Take, *parts: str) -> str:
        destination = self.folder.joinpath("assets", "audio", *parts)
        place(take.path, destination)
        return f'<audio controls preload="metadata" src="{self._url(destination)}"></audio>'

    def _write(self, title: str, body: str, script: str = "") -> Path:
        page = Template(_asset("page.html")).substitute(
            title=escape(title), style=_asset("report.css"), body=body, script=script
        )
        with atomic_write(self.folder / "index.html") as tmp:
            tmp.write_text(page)
        return self.folder / "index.html"

    def _heading(self) -> str:
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        return (
            f'<p class="meta">{len(self.runs)} run(s); samples at checkpoint={escape(str(self.checkpoint))}; '
            f"written {when}</p>"
        )

    # ----------------------------------------------------------------- the open page
    def write(self) -> Path:
        """The page of every run (metrics, plots) and every clip, runs side by side; returns index.html."""
        runs = "".join(self._run_section(index, run) for index, run in enumerate(self.runs, 1))
        clips = "".join(self._clip_section(clip) for clip in clip_names(self.runs))
        body = (
            f"{self._heading()}<section><h2>Runs</h2>{runs}</section><section><h2>Clips</h2>{clips}</section>"
        )
        return self._write("Listening report", body)

    def _run_section(self, index: int, shown: ShownRun) -> str:
        run = shown.run
        try:
            best = run.checkpoint("best").name
        except RunDirError:
            best = "none"
        budget = f"of {run.budget} " if run.budget else ""
        facts = {
            "path": str(run.path),
            "family": run.family,
            "data": run.data,
            "budget reached": f"{run.batches_reached} {budget}batches",
            "best checkpoint": best,
            "samples shown": shown.samples.name,
        }
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
        plot = self.folder / "assets" / "metrics" / f"run{index}.png"
        image = (
            f'<img class="metrics" src="{self._url(plot)}" alt="validation metrics of {escape(shown.label)}">'
            if plot_metrics(plot, run.validations, shown.label)
            else '<p class="missing">no validation logged</p>'
        )
        return f"<article><h3>{escape(shown.label)}</h3><dl>{rows}</dl>{image}{self._values(run)}</article>"

    @staticmethod
    def _values(run) -> str:
        names = sorted({name for v in run.validations for name in v.scores})
        if not names:
            return ""
        head = "".join(f"<th>{escape(n)}</th>" for n in ["batch", "seconds", *names])
        rows = "".join(
            f"<tr><td>{v.batches}</td><td>{v.seconds:.1f}</td>"
            + "".join(f"<td>{v.scores[n]:.4g}</td>" if n in v.scores else "<td></td>" for n in names)
            + "</tr>"
            for v in run.validations
        )
        table = f'<table class="values"><tr>{head}</tr>{rows}</table>'
        return f"<details open><summary>validations</summary>{table}</details>"

    def _clip_section(self, clip: str) -> str:
        takes = {
            (index, take.label): take
            for index, run in enumerate(self.runs, 1)
            for take in run.clips.get(clip, [])
        }
        spectrograms = dict(zip(takes, log_mels_db([take.path for take in takes.values()]), strict=True))
        scale = shared_scale(list(spectrograms.values()))
        labels = sorted(
            dict.fromkeys((SAMPLE_ROLES.index(take.role), take.label, take.role) for take in takes.values())
        )
        head = '<th class="row"></th>' + "".join(f"<th>{escape(run.label)}</th>" for run in self.runs)
        rows = []
        for _, label, role in labels:
            cells = []
            for index in range(1, len(self.runs) + 1):
                take = takes.get((index, label))
                if take is None:
                    cells.append('<td class="missing">&mdash;</td>')
                    continue
                png = self.folder / "assets" / "spectrograms" / clip / f"run{index}_{label}.png"
                save_spectrogram(png, spectrograms[(index, label)], scale)
                audio = self._audio(take, clip, f"run{index}_{label}.wav")
                alt = f"{clip} {label} spectrogram"
                cells.append(
                    f'<td><figure><img src="{self._url(png)}" alt="{escape(alt)}">{audio}</figure></td>'
                )
            rows.append(f'<tr><th class="row">{escape(_named(label, role))}</th>{"".join(cells)}</tr>')
        return (
            f"<article><h3>{escape(clip)}</h3>{_scale(scale)}"
            f'<table class="takes"><tr>{head}</tr>{"".join(rows)}</table></article>'
        )

    # ----------------------------------------------------------------- the blind page
    def write_blind(self, seed: int) -> Path:
        """The blind page: per clip the runs' outputs in columns A, B, ... shuffled with ``seed``, names
        hidden, a 1-5 rating per column and a button that saves the answers; the key goes to ``key.json``."""
        clips = clip_names(self.runs)
        by_label = {run.label: run for run in self.runs}
        key = shuffle_columns({c: [r.label for r in self.runs if c in r.clips] for c in clips}, seed)
        key.save(self.folder / KEY_FILE)
        sections = "".join(self._blind_clip(clip, key.columns[clip], by_label) for clip in clips)
        test = {
            "format": FORMAT,
            "key": str((self.folder / KEY_FILE).resolve()),
            "key_id": key.id,
            "seed": seed,
        }
        data = json.dumps(test).replace("</", "<\\/")
        body = (
            '<p class="meta">For each clip, listen to every column and rate it from 1 (bad) to 5 '
            "(excellent). Then save your answers and send the file back.</p>"
            f'{sections}<p><button id="download">Download answers</button> <span id="status"></span></p>'
            f'<script id="blind-test" type="application/json">{data}</script>'
        )
        return self._write("Blind listening test", body, _asset("blind.js"))

    def _blind_clip(self, clip: str, columns: dict[str, str], by_label: dict[str, ShownRun]) -> str:
        """A clip's anchors (input, reference: the first run's) and its hidden columns with their ratings."""
        first = next(run for run in self.runs if clip in run.clips)  # in the report's order, not shuffled
        anchors = "".join(
            f"<figure><figcaption>{escape(_named(take.label, take.role))}</figcaption>"
            f"{self._audio(take, clip, f'{take.label}.wav')}</figure>"
            for take in first.clips[clip]
            if take.role in ANCHOR_ROLES
        )
        head = "".join(f"<th>{letter}</th>" for letter in columns)
        players, ratings = [], []
        for letter, run in columns.items():
            outputs = [take for take in by_label[run].clips[clip] if take.role == "output"]
            players.append(
                "<td>"
                + "".join(self._audio(take, clip, f"{letter}_{take.label}.wav") for take in outputs)
                + "</td>"
            )
            name = escape(f"{clip}-{letter}")
            ratings.append(
                '<td class="rating">'
                + "".join(
                    f'<label><input type="radio" class="rate" name="{name}" value="{value}" '
                    f'data-clip="{escape(clip)}" data-column="{letter}"> {value}</label>'
                    for value in RATINGS
                )
                + "</td>"
            )
        return (
            f'<article><h3>{escape(clip)}</h3><div class="anchors">{anchors}</div><table class="takes">'
            f"<tr>{head}</tr><tr>{''.join(players)}</tr><tr>{''.join(ratings)}</tr></table></article>"
        )


def _named(label: str, role: str) -> str:
    return label if label == role else f"{label} ({role})"


def _scale(scale: tuple[float, float]) -> str:
    low, high = scale
    gradient = ", ".join(colour_stops())
    return (
        f'<div class="scale">colour scale, every spectrogram of this clip: {low:.0f} dB '
        f'<span class="bar" style="background: linear-gradient(to right, {gradient})"></span> '
        f"{high:.0f} dB</div>"
    )
