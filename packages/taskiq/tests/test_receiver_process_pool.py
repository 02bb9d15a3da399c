"""Sync tasks can run in a ProcessPoolExecutor: the task object pickles by reference."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

TASKS = """
import os

from taskiq import InMemoryBroker

broker = InMemoryBroker()


@broker.task
def whoami(value: int) -> list[int]:
    return [value, os.getpid()]
"""

MAIN = """
import asyncio
import os
from concurrent.futures import ProcessPoolExecutor

from taskiq import Receiver, TaskiqMessage
from tasks import broker, whoami


async def main() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        receiver = Receiver(broker, executor=pool)
        call = TaskiqMessage(task_id="p1", task_name=whoami.task_name, args=["7"])
        message = broker.formatter.dumps(call)  # "7" is cast to 7 before pickling
        result = await receiver.callback(message.message, raise_err=True)
    assert result is not None and not result.is_err, result
    value, pid = result.return_value
    assert value == 7
    assert pid != os.getpid(), "the task ran in the pool's process"
    print("ok")


asyncio.run(main())
"""


def test_sync_task_runs_in_a_process_pool(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(textwrap.dedent(TASKS))
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN))
    completed = subprocess.run(
        [sys.executable, "-W", "error", "main.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip() == "ok"
