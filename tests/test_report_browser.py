"""The listening report in a real browser (Debian's chromium, headless, driven by Playwright): every image and
audio element loads, nothing is logged as an error, the page is not blank; the blind page's ratings are saved
as an answers file that reads back as preferences."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.image import imread
from report_fixtures import runs_override, write_report

from audiogan.report.answers import preferences
from audiogan.report.blind import BlindKey

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,  # starts a browser and reads the session's smoke runs
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason=f"no {CHROMIUM}: apt-get install chromium (.ci/run does)"
    ),
]

ALL_AUDIO_LOADED = "[...document.querySelectorAll('audio')].every(audio => audio.duration > 0)"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


def _open(browser, page_file: Path):
    """A browser page on ``page_file`` with every audio's metadata loaded; the errors it logs collect in
    ``page.errors``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.errors = []
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(page_file.as_uri())
    page.wait_for_function(ALL_AUDIO_LOADED, timeout=15_000)
    return page


def test_the_report_of_two_runs_loads_every_image_and_audio_without_errors(browser, smoke_run, tmp_path):
    index = write_report(tmp_path / "report", runs_override(smoke_run("melgan"), smoke_run("hifigan")))
    page = _open(browser, index)
    durations = page.evaluate("[...document.querySelectorAll('audio')].map(audio => audio.duration)")
    widths = page.evaluate("[...document.images].map(image => image.complete && image.naturalWidth)")
    assert len(durations) == 6 and min(durations) > 0
    assert len(widths) == 8 and all(width > 0 for width in widths)  # 2 metric plots, 6 spectrograms
    page.screenshot(path=tmp_path / "screenshot.png", full_page=True)
    assert imread(tmp_path / "screenshot.png")[..., :3].std() > 0.05  # not one flat colour
    assert page.errors == []


def test_blind_ratings_are_saved_by_the_page_and_read_back(browser, smoke_run, tmp_path):
    index = write_report(
        tmp_path / "blind", runs_override(smoke_run("melgan"), smoke_run("hifigan")), "blind=true"
    )
    page = _open(browser, index)
    page.check("input[data-clip='clip0'][data-column='A'][value='5']")
    page.check("input[data-clip='clip0'][data-column='B'][value='2']")
    with page.expect_download() as download:
        page.click("#download")
    answers = tmp_path / download.value.suggested_filename
    download.value.save_as(answers)
    assert page.errors == []
    key = BlindKey.load(index.parent / "key.json")
    rows = {row.run: row for row in preferences([str(answers)])}
    assert rows[key.columns["clip0"]["A"]].ratings == [5] and rows[key.columns["clip0"]["A"]].wins == 1
    assert rows[key.columns["clip0"]["B"]].ratings == [2] and rows[key.columns["clip0"]["B"]].wins == 0
