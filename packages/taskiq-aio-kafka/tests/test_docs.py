"""docs/brokers/kafka.md and the package README run as written.

The only change made to the code is the topic and group names (unique per
test, deleted afterwards): `app.py` is served by a real `taskiq worker`,
`send.py` runs against it. The dead-letter fragment (top-level ``await``, a
started ``broker`` in scope) is run by test_dead_letter_contract.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
DOCS = HERE.parents[2] / "docs" / "brokers" / "kafka.md"
README = HERE.parent / "README.md"

pytestmark = [pytest.mark.slow, pytest.mark.service("kafka"), pytest.mark.timeout(120)]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def block_with(path: Path, marker: str) -> str:
    (block,) = [b for b in python_blocks(path) if marker in b]
    return block


def renamed(code: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        code = code.replace(f'"{old}"', f'"{new}"')
    return code


def run(script: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", script.name],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_docs_examples_run_under_a_worker(names: Any, tmp_path: Path) -> None:
    assert len(python_blocks(DOCS)) == 3, "every example of the page is run (here or there)"
    block_with(DOCS, "page = await store.list(limit=100)")  # test_dead_letter_contract.py
    renames = {
        "tasks": names.topic("docs"),
        "emails": names.topic("emails"),
        "workers": names.group(),
    }
    app = block_with(DOCS, "AioKafkaBroker(")
    assert all(f'"{old}"' in app for old in renames), "the example uses the names replaced"
    (tmp_path / "app.py").write_text(renamed(app, renames))
    (tmp_path / "send.py").write_text(renamed(block_with(DOCS, "with_topic"), renames))
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1"],
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        run(tmp_path / "send.py")
        deadline = time.monotonic() + 60
        while log.read_text().count("email to 7") < 2:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    assert worker.returncode == 0, log.read_text()[-3000:]


def test_readme_examples_run(tmp_path: Path) -> None:
    blocks = python_blocks(README)
    assert blocks, "the README has an example"
    for number, code in enumerate(blocks):
        (tmp_path / f"readme_{number}.py").write_text(code)
        run(tmp_path / f"readme_{number}.py")
