"""`taskiq task` on a broker whose result backend keeps no states: one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskiq.cli.ops import EXIT_NOT_SUPPORTED


def test_a_backend_without_states_exits_2_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "stateless_app.py").write_text(
        "from taskiq import InMemoryBroker\n"
        "from taskiq.result_backends.dummy import DummyResultBackend\n"
        "broker = InMemoryBroker().with_result_backend(DummyResultBackend())\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "taskiq", "task", "stateless_app:broker", "some-id"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_NOT_SUPPORTED
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Task states are not supported by DummyResultBackend")
