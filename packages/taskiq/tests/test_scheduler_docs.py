"""The complete examples of docs/scheduling.md run as written.

Blocks fenced as ```python are complete programs (each is run in a fresh
interpreter with warnings as errors and must exit 0); fragments that need a
service are fenced as ```py and are not run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from docs_examples import assert_example_runs, example_params, python_blocks

PAGE = "scheduling.md"


def test_the_page_has_runnable_examples() -> None:
    assert len(python_blocks(PAGE)) >= 4


@pytest.mark.parametrize("code", example_params(PAGE))
def test_scheduling_example_runs(code: str, tmp_path: Path) -> None:
    assert_example_runs(code, tmp_path, "scheduling_example.py")


def test_the_quick_start_example_prints_three_ticks(tmp_path: Path) -> None:
    _, quick_start = python_blocks(PAGE)[0]
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
