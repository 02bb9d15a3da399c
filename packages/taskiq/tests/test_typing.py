"""Static typing of tasks: mypy sees each task's parameters on kiq and its return type.

Runs mypy over ``typing/sample_kiq_types.py``: lines marked ``# R: <type>`` must
reveal that type, lines marked ``# E:`` must be errors, and no other line may be.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "typing" / "sample_kiq_types.py"
ROOT = Path(__file__).resolve().parents[3]
MODULE_PREFIX = re.compile(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])")


def run_mypy() -> dict[int, list[str]]:
    """Run mypy on the sample; return its messages by line number."""
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(SAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=280,
        check=False,
    )
    messages: dict[int, list[str]] = {}
    for line in completed.stdout.splitlines():
        match = re.match(rf"^{re.escape(str(SAMPLE.relative_to(ROOT)))}:(\d+): (.*)$", line)
        if match:
            messages.setdefault(int(match[1]), []).append(match[2])
    assert messages, completed.stdout + completed.stderr
    return messages


def markers(kind: str) -> dict[int, str]:
    lines = SAMPLE.read_text().splitlines()
    return {
        number: line.split(f"# {kind}:", 1)[1].strip()
        for number, line in enumerate(lines, start=1)
        if f"# {kind}:" in line
    }


@pytest.fixture(scope="module")
def mypy_messages() -> dict[int, list[str]]:
    return run_mypy()


@pytest.mark.timeout(300)
def test_revealed_types_are_the_tasks_types(mypy_messages: dict[int, list[str]]) -> None:
    expected = markers("R")
    assert expected
    for line, wanted in expected.items():
        revealed = [m for m in mypy_messages.get(line, []) if "Revealed type is" in m]
        assert len(revealed) == 1, (line, mypy_messages.get(line))
        shown = MODULE_PREFIX.sub("", revealed[0].split('"')[1])
        assert shown == wanted, f"line {line}"


@pytest.mark.timeout(300)
def test_wrong_arguments_to_kiq_are_errors_and_nothing_else_is(
    mypy_messages: dict[int, list[str]],
) -> None:
    expected = set(markers("E"))
    assert expected
    erroneous = {
        line
        for line, messages in mypy_messages.items()
        if any(message.startswith("error:") for message in messages)
    }
    assert erroneous == expected
