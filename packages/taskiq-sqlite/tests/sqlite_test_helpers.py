"""Helpers of the taskiq_sqlite tests: waiting, and ``taskiq worker`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

#: Seconds any wait of these tests may take before failing.
DEADLINE = 30.0


def wait_for(probe: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``probe`` until true; fail naming ``what`` after ``deadline`` s."""
    end = time.monotonic() + deadline
    while not probe():
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {deadline} s")
        time.sleep(0.05)


class Workers:
    """``taskiq worker`` processes started by one test, stopped at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, app: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``taskiq worker <app> *args`` in the test's folder; output in a log file."""
        log = self.folder / f"worker-{len(self.started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "taskiq", "worker", app, *args],
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        self.started.append((process, log))
        return process

    def log(self, index: int = 0) -> str:
        """What worker ``index`` printed so far."""
        return self.started[index][1].read_text(errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker's whole process group (the supervisor and its children)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(DEADLINE)

    def stop_all(self) -> None:
        """SIGTERM every worker still running; SIGKILL one that does not stop in time."""
        for process, _ in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            try:
                process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
