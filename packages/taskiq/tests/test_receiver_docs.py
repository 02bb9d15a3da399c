"""The examples of docs/execution.md, dependencies.md and testing.md run as written.

Each ```python block is a complete program, run in a fresh interpreter with
warnings as errors; it must exit 0. The examples assert what they show.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from docs_examples import assert_example_runs, example_params, python_blocks

PAGES = ["execution.md", "dependencies.md", "testing.md"]


@pytest.mark.parametrize("page", PAGES)
def test_page_exists_with_examples(page: str) -> None:
    assert python_blocks(page), f"docs/{page} has no runnable example"


@pytest.mark.parametrize("code", example_params(*PAGES))
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    assert_example_runs(code, tmp_path)
