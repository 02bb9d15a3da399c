"""The complete examples of docs/scheduling.md run as written.

Blocks fenced as ```python are complete programs (each is run in a fresh
interpreter with warnings as errors and must exit 0); fragments that need a
service are fenced as ```py and are not run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "scheduling.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[tuple[int, str]]:
    text = PAGE.read_text()
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


def test_the_page_has_runnable_examples() -> None:
    assert len(python_blocks()) >= 4


@pytest.mark.parametrize(
    "code",
    [pytest.param(code, id=f"scheduling.md:{line}") for line, code in python_blocks()],
)
def test_scheduling_example_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "scheduling_example.py"
    script.write_text(code)
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_quick_start_example_prints_three_ticks(tmp_path: Path) -> None:
    _, quick_start = python_blocks()[0]
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start)
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    assert completed.stdout.strip() == "['tick', 'tick', 'tick']"
