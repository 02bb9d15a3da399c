"""Every Python example of docs/middlewares.md runs as written.

Each ```python block is a complete program, run in a fresh interpreter with
warnings as errors; the examples assert what they show.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from docs_examples import assert_example_runs, example_params, python_blocks

PAGE = "middlewares.md"


def test_page_shows_each_builtin_middleware() -> None:
    code = "\n".join(block for _, block in python_blocks(PAGE))
    for name in (
        "TaskiqMiddleware",
        "SimpleRetryMiddleware",
        "SmartRetryMiddleware",
        "PrometheusMiddleware",
        "TaskiqInstrumentor",
        "OpenTelemetryMiddleware",
    ):
        assert name in code, f"no runnable example uses {name}"


@pytest.mark.parametrize("code", example_params(PAGE))
def test_example_runs(code: str, tmp_path: Path) -> None:
    assert_example_runs(code, tmp_path)
