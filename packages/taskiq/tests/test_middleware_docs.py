"""Every Python example of docs/middlewares.md runs as written.

Each ```python block is a complete program, run in a fresh interpreter with
warnings as errors; the examples assert what they show.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "middlewares.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[tuple[int, str]]:
    text = PAGE.read_text()
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


def test_page_shows_each_builtin_middleware() -> None:
    code = "\n".join(block for _, block in python_blocks())
    for name in (
        "TaskiqMiddleware",
        "SimpleRetryMiddleware",
        "SmartRetryMiddleware",
        "PrometheusMiddleware",
        "TaskiqInstrumentor",
        "OpenTelemetryMiddleware",
    ):
        assert name in code, f"no runnable example uses {name}"


@pytest.mark.parametrize(
    "code",
    [pytest.param(code, id=f"middlewares.md:{line}") for line, code in python_blocks()],
)
def test_example_runs(code: str, tmp_path: Path) -> None:
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
