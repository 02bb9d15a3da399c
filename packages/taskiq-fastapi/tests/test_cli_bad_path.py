"""The real `taskiq worker` stops, naming the path, when the app path is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
def test_worker_cli_exits_with_the_wrong_path_in_its_log() -> None:
    command = [sys.executable, "-m", "taskiq", "worker", "fastapi_bad_path_worker:broker"]
    command += ["--workers", "1", "--max-fails", "0", "--app-dir", str(HERE)]
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=50)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Cannot load the FastAPI application 'fastapi_sample_app:no_such_app'" in output
    assert "has no attribute 'no_such_app'" in output
