"""The README example runs as written: `taskiq worker tasks:broker` plus `python main.py`.

Only the stream, subject, queue and bucket names are made unique, because the
NATS server is shared.
"""

from __future__ import annotations

import pathlib
import re
import signal
import subprocess
import sys
from typing import Any

import pytest

README = pathlib.Path(__file__).parents[1] / "README.md"
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.S)

pytestmark = pytest.mark.slow


def readme_files(names: Any) -> dict[str, str]:
    files = dict(EXAMPLE.findall(README.read_text()))
    stream, bucket = names.stream("readme"), names.bucket("readme")
    replacements = {
        '"example_tasks"': f'"{stream}"',
        '"example.tasks"': f'"{names.subject("readme")}"',
        '"example_results"': f'"{bucket}"',
        'queue="example"': f'queue="q_{names.suffix}"',
    }
    for old, new in replacements.items():
        assert old in files["tasks.py"], f"README example no longer contains {old}"
        files["tasks.py"] = files["tasks.py"].replace(old, new)
    return files


def test_readme_example_runs_with_the_taskiq_worker_cli(
    nats_url: str, names: Any, tmp_path: pathlib.Path
) -> None:
    if not (pathlib.Path(sys.executable).parent / "taskiq").exists():
        pytest.skip("the taskiq command is not installed")
    for name, code in readme_files(names).items():
        (tmp_path / name).write_text(code)
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskiq", "worker", "tasks:broker", "--workers", "1"],
        cwd=tmp_path,
    )
    try:
        client = subprocess.run(
            [sys.executable, "main.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )
        assert client.returncode == 0, client.stderr
        assert client.stdout.strip() == "3"
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0
