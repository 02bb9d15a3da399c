"""The documented code is the code that runs.

- Blocks marked ``<!-- example: name.py -->`` in docs/integrations.md and the
  package READMEs are complete programs: each runs and prints its result.
- Blocks marked ``<!-- file: path -->`` quote examples/fastapi_app, whose
  test runs the project: a quote must match the file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = [
    ROOT / "docs" / "integrations.md",
    ROOT / "packages" / "taskiq-fastapi" / "README.md",
    ROOT / "packages" / "taskiq-aiohttp" / "README.md",
]
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.S)
QUOTE = re.compile(r"<!-- file: (\S+)[^>]*-->\n```python\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    return [
        (f"{doc.name}:{name}", code)
        for doc in DOCS
        for name, code in EXAMPLE.findall(doc.read_text())
    ]


def _quotes() -> list[tuple[str, str]]:
    return QUOTE.findall((ROOT / "docs" / "integrations.md").read_text())


def test_every_doc_has_examples() -> None:
    names = [name for name, _ in _examples()]
    assert len(names) == 4, names
    assert len(_quotes()) == 4


@pytest.mark.parametrize(("name", "code"), _examples(), ids=lambda value: str(value)[:40])
def test_documented_program_runs(name: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello, Ada!\n"


@pytest.mark.parametrize(("path", "code"), _quotes(), ids=lambda value: str(value)[:40])
def test_quoted_example_code_matches_the_files(path: str, code: str) -> None:
    assert code in (ROOT / path).read_text()
