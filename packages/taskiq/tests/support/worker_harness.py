"""Run ``taskiq worker`` as a real subprocess against Redis, and watch what it does.

Every test gets a unique key prefix; the application module (`APP_SOURCE`) is
written into the test's temporary directory and reads the prefix from the
environment. Tasks report what they do in Redis lists under that prefix, so
a test waits on conditions it can observe (never on sleeps), and the
fixture deletes every key of the prefix afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncKicker

SUPPORT_DIR = Path(__file__).resolve().parent
DEADLINE = 30.0

#: The application the workers run: tasks that record start/end in Redis.
APP_SOURCE = """
import asyncio
import os
import time

import redis
from redis.asyncio import Redis

from redis_list_broker import REDIS_URL, RedisListBroker
from taskiq import Receiver, TaskiqDepends, TaskiqEvents

PREFIX = os.environ["TASKIQ_TEST_PREFIX"]
VERSION = "v1"
broker = RedisListBroker(queue=PREFIX + ":queue", record_acks=True)
_clients = {}


def aredis():
    client = _clients.get("async")
    if client is None:
        client = _clients["async"] = Redis.from_url(REDIS_URL)
    return client


def sredis():
    return redis.Redis.from_url(REDIS_URL)


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def started(state):
    await aredis().rpush(PREFIX + ":started", os.getpid())


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def stopping(state):
    if await aredis().exists(PREFIX + ":hang-shutdown"):
        await asyncio.Event().wait()
    await aredis().rpush(PREFIX + ":shutdown", os.getpid())


def watched():
    try:
        yield
    except Exception:
        sredis().rpush(PREFIX + ":teardown", "saw-error")
        raise
    else:
        sredis().rpush(PREFIX + ":teardown", "clean")


@broker.task
async def fail(dep: None = TaskiqDepends(watched)) -> None:
    raise ValueError("task failed on purpose")


@broker.task
async def record(tag: str) -> None:
    await aredis().rpush(PREFIX + ":done", f"{tag}:{os.getpid()}:{VERSION}")


@broker.task
async def block(tag: str) -> None:
    client = aredis()
    running = await client.incr(PREFIX + ":running")
    await client.rpush(PREFIX + ":samples", running)
    await client.rpush(PREFIX + ":begun", tag)
    while not await client.exists(PREFIX + ":release"):
        await asyncio.sleep(0.02)
    await client.decr(PREFIX + ":running")
    await client.rpush(PREFIX + ":done", f"{tag}:{os.getpid()}:{VERSION}")


@broker.task
def sync_block(tag: str) -> None:
    client = sredis()
    running = client.incr(PREFIX + ":running")
    client.rpush(PREFIX + ":samples", running)
    client.rpush(PREFIX + ":begun", tag)
    while not client.exists(PREFIX + ":release"):
        time.sleep(0.02)
    client.decr(PREFIX + ":running")
    client.rpush(PREFIX + ":done", f"{tag}:{os.getpid()}")


@broker.task
def sync_pid(tag: str) -> None:
    sredis().rpush(PREFIX + ":done", f"{tag}:{os.getpid()}:{os.getppid()}")


@broker.task
async def crash() -> None:
    os._exit(13)


@broker.task
async def typed(value: int) -> None:
    await aredis().rpush(PREFIX + ":done", type(value).__name__)


class TaggedReceiver(Receiver):
    def __init__(self, broker, *, tag="none", color="none", **kwargs):
        super().__init__(broker, **kwargs)
        sredis().rpush(PREFIX + ":receiver", f"{tag}:{color}:{kwargs['max_async_tasks']}")
"""


class Worker:
    """One ``python -m taskiq worker`` process in its own session (killed as a group)."""

    def __init__(self, cwd: Path, log_dir: Path, prefix: str, args: list[str]) -> None:
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self._log = self.log_path.open("wb")
        env = {**os.environ, "TASKIQ_TEST_PREFIX": prefix}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT_DIR), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", *args],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait_exit(self, deadline: float = DEADLINE) -> int:
        """The exit code; fails the test if the worker is still running at the deadline."""
        code = await eventually(lambda: _polled(self.process.poll()), deadline, self.log)
        assert isinstance(code, int)
        return code

    async def wait_log(self, text: str, deadline: float = DEADLINE, count: int = 1) -> None:
        await eventually(lambda: _truthy(self.log().count(text) >= count), deadline, self.log)

    def kill(self) -> None:
        """Kill the supervisor and all its children (teardown)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        else:
            # Children of an exited supervisor still belong to its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


async def _polled(value: Any) -> Any:
    return value


async def _truthy(value: bool) -> bool | None:
    return True if value else None


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    deadline: float = DEADLINE,
    diagnostics: Callable[[], str] | None = None,
) -> Any:
    """Poll ``probe`` until it returns something other than None; fail after ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = await probe()
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    details = f"\n--- worker log ---\n{diagnostics()}" if diagnostics else ""
    raise AssertionError(f"condition not met within {deadline} s{details}")


class Harness:
    """The Redis side of a worker test: kick tasks by name, read what they recorded."""

    def __init__(self, tmp_path: Path) -> None:
        self.prefix = f"taskiq-cli-test:{uuid.uuid4().hex}"
        self.app_dir = tmp_path / "app"
        self.app_dir.mkdir()
        self.log_dir = tmp_path
        self.redis = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
        self.workers: list[Worker] = []
        (self.app_dir / "app.py").write_text(APP_SOURCE)
        from redis_list_broker import RedisListBroker

        self.broker = RedisListBroker(queue=f"{self.prefix}:queue")

    async def start(self) -> None:
        await self.broker.startup()

    def worker(self, *args: str, cwd: Path | None = None) -> Worker:
        """Start ``taskiq worker *args`` in ``cwd`` (default: the app directory)."""
        worker = Worker(cwd or self.app_dir, self.log_dir, self.prefix, list(args))
        self.workers.append(worker)
        return worker

    async def kick(self, task: str, *args: Any) -> None:
        """Send task ``app:<task>`` by name, as a client without the app's code would."""
        await self.kick_named(f"app:{task}", *args)

    async def kick_named(self, task_name: str, *args: Any) -> None:
        await AsyncKicker(task_name=task_name, broker=self.broker, labels={}).kiq(*args)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    async def items(self, name: str) -> list[str]:
        return list(await self.redis.lrange(self.key(name), 0, -1))

    async def wait_items(self, name: str, count: int, deadline: float = DEADLINE) -> list[str]:
        """Wait until list ``name`` holds at least ``count`` items; return them."""

        async def probe() -> list[str] | None:
            items = await self.items(name)
            return items if len(items) >= count else None

        return list(await eventually(probe, deadline, self._logs))

    async def wait_for(
        self,
        check: Callable[[], Awaitable[bool]],
        deadline: float = DEADLINE,
    ) -> None:
        async def probe() -> bool | None:
            return True if await check() else None

        await eventually(probe, deadline, self._logs)

    async def counter(self, name: str) -> int:
        return int(await self.redis.get(self.key(name)) or 0)

    async def queue_length(self) -> int:
        return int(await self.redis.llen(self.key("queue")))

    async def release(self) -> None:
        await self.redis.set(self.key("release"), 1)

    def _logs(self) -> str:
        return "\n".join(worker.log() for worker in self.workers)

    async def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        keys = [key async for key in self.redis.scan_iter(f"{self.prefix}:*")]
        if keys:
            await self.redis.delete(*keys)
        await self.broker.shutdown()
        await self.redis.aclose()
