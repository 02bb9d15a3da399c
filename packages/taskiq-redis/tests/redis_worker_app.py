"""A tiny worker used by the tests: run as a script, it serves one stream queue.

Configuration comes from the environment so each test gets its own queue:
TQ_BROKER_URL, TQ_QUEUE, TQ_IDLE_MS, TQ_MAX_DELIVERIES, TQ_MAX_PRIORITY and
TQ_MARKS_URL (where tasks record that they started and finished).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from redis.asyncio import Redis
from taskiq.receiver import Receiver
from taskiq_redis import RedisBroker

QUEUE = os.environ.get("TQ_QUEUE", "taskiq-test")
MARKS_URL = os.environ.get("TQ_MARKS_URL", "redis://127.0.0.1:6379/0")
max_priority = os.environ.get("TQ_MAX_PRIORITY")

broker = RedisBroker(
    os.environ.get("TQ_BROKER_URL", "redis://127.0.0.1:6379/0"),
    queue_name=QUEUE,
    idle_timeout=int(os.environ.get("TQ_IDLE_MS", "2000")),
    max_deliveries=int(os.environ.get("TQ_MAX_DELIVERIES", "5")),
    max_priority=int(max_priority) if max_priority else None,
    xread_block=500,
)


def marks_key(kind: str) -> str:
    """Hash of task number -> count, per kind (started, done)."""
    return f"{QUEUE}:marks:{kind}"


async def _mark(kind: str, number: int) -> int:
    async with Redis.from_url(MARKS_URL) as marks:
        await marks.hincrby(f"{QUEUE}:marks:pids", str(os.getpid()), int(kind == "started"))
        return int(await marks.hincrby(marks_key(kind), str(number), 1))


@broker.task(task_name="record")
async def record(number: int, seconds: float = 0.0, first_run_seconds: float = 0.0) -> int:
    """Mark start, sleep, mark done: the test reads the marks.

    ``first_run_seconds`` is slept only by the first run of this number, so a
    redelivered copy finishes quickly.
    """
    starts = await _mark("started", number)
    await asyncio.sleep(seconds + (first_run_seconds if starts == 1 else 0.0))
    await _mark("done", number)
    return number


@broker.task(task_name="block_loop")
async def block_loop(number: int, seconds: float) -> int:
    """Block the whole event loop on the first run (a bug the worker must survive)."""
    starts = await _mark("started", number)
    time.sleep(seconds if starts == 1 else 0.0)  # noqa: ASYNC251 - blocking on purpose
    await _mark("done", number)
    return number


@broker.task(task_name="crash")
async def crash(number: int) -> None:
    """Kill this worker process outright, like a segfault or the OOM killer would."""
    await _mark("started", number)
    os._exit(3)


async def main() -> None:
    """Serve until SIGTERM, then finish running tasks and shut the broker down."""
    broker.is_worker_process = True
    await broker.startup()
    finish = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, finish.set)
    max_async = os.environ.get("TQ_MAX_ASYNC")
    receiver = Receiver(broker, max_async_tasks=int(max_async) if max_async else None)
    listening = asyncio.create_task(receiver.listen(finish))
    print("ready", flush=True)
    await finish.wait()
    listening.cancel()
    await asyncio.gather(listening, return_exceptions=True)
    await broker.shutdown()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
