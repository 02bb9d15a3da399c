"""The Python examples of the core docs pages run as written.

Each ```python block is a complete program: it is written to a file and run in
a fresh interpreter (warnings are errors), which must exit 0. The examples
assert what they demonstrate, so a behaviour change fails them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"
PAGES = ["tasks-and-results.md", "serialization.md", "brokers-and-events.md", "errors.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[tuple[int, str]]:
    """Return (line number, code) for every ```python block of a page."""
    text = (DOCS / page).read_text()
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


SNIPPETS = [
    pytest.param(code, id=f"{page}:{line}")
    for page in PAGES
    if (DOCS / page).exists()
    for line, code in python_blocks(page)
]


def test_every_page_has_examples() -> None:
    for page in PAGES:
        assert python_blocks(page), f"{page} has no runnable example"


@pytest.mark.parametrize("code", SNIPPETS)
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "docs_example.py"
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
