"""A cancelled sync task in the replacing process pool is stopped hard after the grace.

Its pool process is ended, the pool starts another, and the next task runs there;
a call of another task in the same pool is not disturbed. A call whose process dies
on its own fails instead of hanging.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # four interpreters start (the test, two pool processes, one new)

TASKS = """
import os
import time

from taskiq import InMemoryBroker

broker = InMemoryBroker()


@broker.task
def stubborn(path: str) -> None:
    with open(path, "w") as marker:
        marker.write(str(os.getpid()))
    time.sleep(60)


@broker.task
def crash() -> None:
    os._exit(3)


@broker.task
def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
"""

MAIN = """
import asyncio
import multiprocessing
import os
import time

from taskiq import Receiver, TaskCancelledError, TaskiqMessage
from taskiq.cli.worker.process_pool import ReplacingProcessPool
from tasks import broker, crash, pid_after, stubborn


def send(task, task_id, *args):
    call = TaskiqMessage(task_id=task_id, task_name=task.task_name, args=list(args))
    return broker.formatter.dumps(call).message


async def wait_for(path):
    end = time.monotonic() + 30
    while not os.path.exists(path) or not open(path).read():
        assert time.monotonic() < end, "the stubborn task never started"
        await asyncio.sleep(0.02)
    return int(open(path).read())


async def main() -> None:
    pool = ReplacingProcessPool(2, multiprocessing.get_context("spawn"))
    receiver = Receiver(broker, executor=pool, cancel_grace=0.3)
    await broker.startup()
    try:
        marker = os.path.abspath("started.txt")
        stuck = asyncio.ensure_future(receiver.callback(send(stubborn, "s1", marker)))
        other = asyncio.ensure_future(receiver.callback(send(pid_after, "p1", 1.5)))
        victim = await wait_for(marker)
        asked = time.monotonic()
        await broker.cancel("s1")
        result = await asyncio.wait_for(stuck, 10)
        took = time.monotonic() - asked
        assert isinstance(result.error, TaskCancelledError), result
        assert took < 0.3 + 0.5 + 1.0, took
        try:
            os.kill(victim, 0)
        except ProcessLookupError:
            pass
        else:
            end = time.monotonic() + 5
            while time.monotonic() < end:
                try:
                    os.kill(victim, 0)
                except ProcessLookupError:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the pool process still runs")
        undisturbed = await asyncio.wait_for(other, 10)
        assert not undisturbed.is_err, undisturbed
        after = await receiver.callback(send(pid_after, "p2", 0))
        assert not after.is_err, after
        assert after.return_value != victim, "a new pool process ran it"
        state = await broker.get_task_state("s1")
        assert state is not None and state.status.value == "cancelled", state
        died = await asyncio.wait_for(receiver.callback(send(crash, "c1")), 20)
        assert died.is_err and "died" in str(died.error), died
        again = await receiver.callback(send(pid_after, "p3", 0))
        assert not again.is_err, again
    finally:
        await broker.shutdown()
        pool.shutdown(wait=True, cancel_futures=True)
    print("ok")


if __name__ == "__main__":  # the pool's spawned processes import this file too
    asyncio.run(main())
"""


def test_a_cancelled_sync_task_is_stopped_by_ending_its_pool_process(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(textwrap.dedent(TASKS))
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN))
    completed = subprocess.run(
        [sys.executable, "main.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip() == "ok"
    assert "its pool process was ended" in completed.stderr
    assert "died while running a call" in completed.stderr
