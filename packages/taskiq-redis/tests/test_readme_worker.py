"""The README's example runs as written under `taskiq worker` (queue name made unique)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"

pytestmark = pytest.mark.slow


def _app_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if "broker = RedisBroker(" in block)


def test_readme_example_runs_with_taskiq_worker(
    redis_url: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text(_app_source().replace("example-queue", queue_name))
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = subprocess.run(
            [sys.executable, "app.py"],
            cwd=tmp_path,
            capture_output=True,
            timeout=50,
            check=False,
        )
        assert client.returncode == 0, client.stderr.decode()
        assert client.stdout.decode().strip() == "5"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors.decode()
