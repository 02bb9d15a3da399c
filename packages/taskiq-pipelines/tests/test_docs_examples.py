"""The package README and docs/workflows.md examples run as written and print what they say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[3]


def _first_example(path: Path) -> str:
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)
    return str(blocks[0])


@pytest.mark.parametrize(
    ("path", "printed"),
    [
        (ROOT / "packages/taskiq-pipelines/README.md", "3 and #2"),
        (ROOT / "docs/workflows.md", "[3, 3, 3, 3]"),
    ],
)
async def test_example_prints_what_it_says(
    path: Path, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {"__name__": f"example_{path.stem}"}
    exec(compile(_first_example(path), str(path), "exec"), namespace)
    broker = namespace["broker"]
    await broker.startup()
    try:
        await namespace["main"]()
    finally:
        await broker.shutdown()
    assert capsys.readouterr().out.strip() == printed
