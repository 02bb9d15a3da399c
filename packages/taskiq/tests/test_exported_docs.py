"""The Python examples of the core docs pages run as written.

Each ```python block is a complete program: it is written to a file and run in
a fresh interpreter (warnings are errors), which must exit 0. The examples
assert what they demonstrate, so a behaviour change fails them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from docs_examples import assert_example_runs, example_params, python_blocks

PAGES = ["tasks-and-results.md", "serialization.md", "brokers-and-events.md", "errors.md"]


def test_every_page_has_examples() -> None:
    for page in PAGES:
        assert python_blocks(page), f"{page} has no runnable example"


@pytest.mark.parametrize("code", example_params(*PAGES))
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    assert_example_runs(code, tmp_path, "docs_example.py")
