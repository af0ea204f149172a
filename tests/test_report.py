"""The listening report: runs with their metrics and clips side by side, audio linked not re-encoded, the
blind page's key and the preferences read back from answers files, errors that name the file."""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import sys

import pytest
from report_fixtures import blind_test, runs_override, write_report

import audiogan.cli
from audiogan.report.answers import preference_table, preferences
from audiogan.report.blind import AnswersError, BlindKey
from audiogan.report.collect import read_clips
from audiogan.runs.run_dir import RunDir, RunDirError
from audiogan.samples import Sample

pytestmark = pytest.mark.slow  # reads what train.py leaves (the session's smoke runs)


def _with_second_clip(run, folder):
    """A copy of ``run`` whose samples hold clip1 too (clip0's audio under another name)."""
    copy = shutil.copytree(run, folder)
    (samples,) = (copy / "samples").iterdir()
    manifest = json.loads((samples / "samples.json").read_text())
    for label in manifest["clip0"]["audio"]:
        shutil.copy(samples / f"clip0_{label}.wav", samples / f"clip1_{label}.wav")
    (samples / "samples.json").write_text(json.dumps({**manifest, "clip1": manifest["clip0"]}))
    return copy


def test_two_runs_side_by_side_with_their_metrics_and_linked_audio(smoke_run, tmp_path):
    melgan, hifigan = smoke_run("melgan"), smoke_run("hifigan")
    takes = read_clips(RunDir(melgan).samples_at("best"))["clip0"]  # as the family's Sample declares them
    assert [(t.label, t.role) for t in takes] == [
        ("reference", "reference"),
        ("generated", "output"),
        ("griffinlim", "baseline"),
    ]
    with pytest.raises(ValueError, match="roles"):
        Sample("clip0", roles={"generated": "anchor"})
    page = write_report(tmp_path / "report", runs_override(melgan, hifigan))
    html = page.read_text()
    for path in (melgan, hifigan):
        run = RunDir(path)
        assert f"{run.family}/{run.name}" in html and run.checkpoint("best").name in html
    assert html.count("2 of 2 batches") == 2 and "val/mel_l1_griffinlim" in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert all((page.parent / src).is_file() for src in sources)
    assert not re.search(r"https?://|base64", html)  # offline; audio are files, not data in the page
    audio = [page.parent / src for src in sources if src.endswith(".wav")]
    assert len(audio) == 6  # clip0's reference, generated and Griffin-Lim of both runs
    assert filecmp.cmp(
        page.parent / "assets/audio/clip0/run2_generated.wav",
        hifigan / "samples/batch00000002/clip0_generated.wav",
        shallow=False,
    )
    images = {src.split("/")[1] for src in sources if src.endswith(".png")}
    assert images == {"metrics", "spectrograms"} and len([s for s in sources if s.endswith(".png")]) == 2 + 6


def test_clips_line_up_by_name_and_checkpoint_and_clips_pick_what_is_shown(smoke_run, tmp_path):
    two_clips = _with_second_clip(smoke_run("melgan"), tmp_path / "two_clips")
    page = write_report(tmp_path / "all", runs_override(two_clips, smoke_run("hifigan")), "checkpoint=last")
    html = page.read_text()
    assert "<h3>clip1</h3>" in html and html.count('class="missing"') == 3  # hifigan has no clip1
    page = write_report(tmp_path / "one", runs_override(two_clips, smoke_run("hifigan")), "clips=1")
    assert "clip1" not in page.read_text()
    with pytest.raises(RunDirError, match="no samples at or before batch 1"):
        write_report(tmp_path / "early", runs_override(two_clips), "checkpoint=1")
    (next((two_clips / "samples").iterdir()) / "samples.json").write_text("{damaged")
    with pytest.raises(RunDirError, match=r"samples.json: damaged"):
        write_report(tmp_path / "damaged", runs_override(two_clips))


def test_a_run_written_before_samples_json_takes_the_roles_the_other_runs_declare(smoke_run, tmp_path):
    older = shutil.copytree(smoke_run("melgan"), tmp_path / "older")
    for manifest in (older / "samples").glob("*/samples.json"):
        manifest.unlink()
    html = write_report(tmp_path / "report", runs_override(smoke_run("melgan"), older)).read_text()
    assert row_names(html) == ["reference", "generated (output)", "griffinlim (baseline)"]
    alone = write_report(tmp_path / "alone", runs_override(older)).read_text()
    assert row_names(alone) == ["generated (output)", "griffinlim (output)", "reference (output)"]


def row_names(html: str) -> list[str]:
    """The row headings of the clips' tables (one clip), in order."""
    return [name for name in re.findall(r'<th class="row">([^<]*)</th>', html) if name]


def test_a_path_that_is_not_a_run_stops_the_command_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        sys, "argv", ["audiogan-report", f"runs=[{tmp_path}]", f"output_dir={tmp_path / 'r'}"]
    )
    with pytest.raises(SystemExit) as stop:
        audiogan.cli.report_main()
    assert stop.value.code == 1
    expected = f"RunDirError: {tmp_path} is not a run dir: expected {tmp_path / 'config.yaml'}"
    assert expected in capsys.readouterr().out  # the command logs to stdout


def test_blind_page_hides_the_runs_and_answers_read_back_as_preferences(
    smoke_run, tmp_path, monkeypatch, capsys
):
    melgan, hifigan = smoke_run("melgan"), smoke_run("hifigan")
    page = write_report(tmp_path / "blind", runs_override(melgan, hifigan), "blind=true", "seed=5")
    html = page.read_text()
    names = [f"{RunDir(run).family}/{RunDir(run).name}" for run in (melgan, hifigan)]
    assert not any(RunDir(run).name in html for run in (melgan, hifigan))
    key = BlindKey.load(page.parent / "key.json")
    assert sorted(key.columns["clip0"].values()) == sorted(names) and key.seed == 5
    again = write_report(tmp_path / "again", runs_override(melgan, hifigan), "blind=true", "seed=5")
    assert BlindKey.load(again.parent / "key.json") == key
    test = blind_test(page)
    assert test["key_id"] == key.id
    winner = key.columns["clip0"]["A"]
    listeners = [{"A": 5, "B": 2}, {"A": 4, "B": 4}]  # the second rates both alike: no one wins
    files = []
    for index, ratings in enumerate(listeners):
        files.append(tmp_path / f"answers{index}.json")
        files[-1].write_text(json.dumps({**test, "ratings": {"clip0": ratings}}))
    rows = {row.run: row for row in preferences([str(f) for f in files])}
    assert (rows[winner].ratings, rows[winner].wins) == ([5, 4], 1)
    assert next(row for name, row in rows.items() if name != winner).wins == 0
    assert preference_table(list(rows.values())).splitlines()[1].startswith(winner)

    monkeypatch.setattr(sys, "argv", ["audiogan-report", f"answers=[{files[0]},{files[1]}]"])
    audiogan.cli.report_main()
    assert re.search(rf"{re.escape(winner)}\s+4.50\s+2\s+1", capsys.readouterr().out)

    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"format": ')
    with pytest.raises(AnswersError, match=rf"{damaged}: not an answers file"):
        preferences([str(damaged)])
    other = write_report(tmp_path / "other", runs_override(melgan, hifigan), "blind=true", "seed=6")
    with pytest.raises(
        AnswersError, match=r"answers0.json: answers to the report with key id .* but .*other/key.json"
    ):
        preferences([str(files[0])], key=str(other.parent / "key.json"))
    files[0].write_text(json.dumps({**test, "ratings": {"clip0": {"C": 3}}}))
    with pytest.raises(AnswersError, match=r"answers0.json: rating 3 of clip 'clip0' column 'C'"):
        preferences([str(files[0])])
