"""The demo's second half, run as ``scripts/demo`` runs it: a worker process over SQLite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent / "sqlite_demo" / "demo.py"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_sqlite_demo_prints_both_results_and_stops_the_worker_cleanly() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=170, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("SQLiteBroker, no server: a taskiq worker process on ")
    assert lines[1:] == [
        "Addition result: 8",
        "Multiplication result: 28",
        "Worker stopped cleanly.",
    ]
    folder = Path(lines[0].rsplit(" ", 1)[1]).parent
    assert not folder.exists(), "the temporary folder is removed"
    assert "Traceback" not in done.stderr
