"""The core package's README: its Basic Usage program runs and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
REPOSITORY = PACKAGE.parents[1]
README = PACKAGE / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\]\((\.[^)#]*)(?:#[^)]*)?\)")


def test_basic_usage_is_the_example_program() -> None:
    [code] = BLOCK.findall(README.read_text())
    assert code == (REPOSITORY / "examples" / "basic_usage.py").read_text()


def test_basic_usage_runs_and_prints_both_results(tmp_path: Path) -> None:
    [code] = BLOCK.findall(README.read_text())
    (tmp_path / "basic_usage.py").write_text(code)
    completed = subprocess.run(
        [sys.executable, "-W", "error", "basic_usage.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["Addition result: 8", "Multiplication result: 28"]


def test_every_relative_link_points_at_a_file() -> None:
    targets = LINK.findall(README.read_text())
    assert targets
    missing = [target for target in targets if not (PACKAGE / target).exists()]
    assert missing == []
