"""The examples of docs/execution.md, dependencies.md and testing.md run as written.

Each ```python block is a complete program, run in a fresh interpreter with
warnings as errors; it must exit 0. The examples assert what they show.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"
PAGES = ["execution.md", "dependencies.md", "testing.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of ``page``."""
    text = (DOCS / page).read_text()
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


EXAMPLES = [
    pytest.param(code, id=f"{page}:{line}")
    for page in PAGES
    if (DOCS / page).exists()
    for line, code in python_blocks(page)
]


@pytest.mark.parametrize("page", PAGES)
def test_page_exists_with_examples(page: str) -> None:
    assert python_blocks(page), f"docs/{page} has no runnable example"


@pytest.mark.parametrize("code", EXAMPLES)
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
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
