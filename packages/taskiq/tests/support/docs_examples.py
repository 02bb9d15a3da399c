"""Run the ```python blocks of the docs pages as the programs they claim to be.

A docs page promises that each of its ```python blocks runs as written. These
helpers find the blocks (with the line they start on, so a failing test names
the place to fix) and run one in a fresh interpreter with warnings as errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[4] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[tuple[int, str]]:
    """Return (line number, code) for every ```python block of ``docs/<page>``."""
    text = (DOCS / page).read_text()
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


def example_params(*pages: str) -> list[pytest.ParameterSet]:
    """One pytest param per block, with id ``page:line``.

    A missing page yields no params instead of breaking collection; each test
    module checks separately that its pages exist and have examples.
    """
    return [
        pytest.param(code, id=f"{page}:{line}")
        for page in pages
        if (DOCS / page).exists()
        for line, code in python_blocks(page)
    ]


def assert_example_runs(code: str, directory: Path, name: str = "example.py") -> None:
    """Write ``code`` to ``directory/name`` and run it there; it must exit 0."""
    script = directory / name
    script.write_text(code)
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
