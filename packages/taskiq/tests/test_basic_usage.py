"""The seed's Basic Usage program, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskiq import InMemoryBroker

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_basic_usage_example_prints_both_results() -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "basic_usage.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.splitlines() == [
        "Addition result: 8",
        "Multiplication result: 28",
    ]


async def test_sync_and_async_tasks_return_their_values() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    @broker.task
    def mul(a: int, b: int) -> int:
        return a * b

    await broker.startup()
    added = await (await add.kiq(2, 3)).wait_result(timeout=5)
    multiplied = await (await mul.kiq(4, 5)).wait_result(timeout=5)
    await broker.shutdown()
    assert (added.return_value, added.is_err) == (5, False)
    assert (multiplied.return_value, multiplied.is_err) == (20, False)
