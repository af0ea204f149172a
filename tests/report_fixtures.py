"""Reports of the session's smoke runs, for the report's tests and its browser test."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import CONF

from audiogan.commands import report
from audiogan.runs.resolvers import compose_config


def write_report(output_dir: Path, *overrides: str) -> Path:
    """``python report.py <overrides> output_dir=<output_dir>``, in process; its index.html."""
    cfg = compose_config(CONF, [f"output_dir={output_dir}", *overrides], name="report")
    return report.run(cfg)


def runs_override(*runs: Path) -> str:
    return f"runs=[{','.join(str(run) for run in runs)}]"


def blind_test(page: Path) -> dict:
    """What a blind page hands its script: answers format, key, key id, seed."""
    return json.loads(
        re.search(r'<script id="blind-test" type="application/json">(.*?)</script>', page.read_text())[1]
    )
