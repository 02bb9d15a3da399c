"""What `taskiq worker` logs: task outcomes, the start-up banner, the shutdown account.

Each test runs a real ``taskiq worker`` on Redis with an application written to
its temporary directory, and reads the worker's output from a file.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from taskiq import AsyncKicker
from taskiq_redis import RedisBroker

from conftest import RedisServer

pytestmark = pytest.mark.slow

DEADLINE = 30.0

APP = textwrap.dedent(
    """
    import asyncio
    import os

    from redis.asyncio import Redis
    from taskiq import SmartRetryMiddleware
    from taskiq_redis import RedisBroker

    URL = os.environ["TQ_URL"]
    QUEUE = os.environ["TQ_QUEUE"]
    broker = RedisBroker(URL, queue_name=QUEUE, xread_block=200).with_middlewares(
        SmartRetryMiddleware(default_delay=0.2),
    )


    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b


    @broker.task
    async def boom() -> None:
        raise ValueError("bad input on purpose")


    @broker.task(retry_on_error=True, max_retries=2)
    async def flaky() -> None:
        raise ConnectionError("service down on purpose")


    @broker.task(timeout=0.3)
    async def slow() -> None:
        await asyncio.sleep(30)


    @broker.task
    async def hold(tag: str) -> str:
        async with Redis.from_url(URL) as client:
            await client.rpush(QUEUE + ":begun", tag)
            while not await client.exists(QUEUE + ":release"):
                await asyncio.sleep(0.02)
        return tag
    """,
)


class LoggedWorker:
    """``python -m taskiq worker app:broker ...`` writing its output to a file."""

    def __init__(self, app_dir: Path, url: str, queue: str, args: list[str]) -> None:
        self.log_path = app_dir / f"worker-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        env = {**os.environ, "TQ_URL": url, "TQ_QUEUE": queue}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1", *args],
            cwd=app_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_log(self, pattern: str, count: int = 1) -> str:
        """Wait until ``pattern`` (a regex) matches ``count`` times; return the log."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            text = self.log()
            if len(re.findall(pattern, text)) >= count:
                return text
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"{pattern!r} not logged {count} times:\n{self.log()}")

    async def wait_exit(self) -> int:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            code = self.process.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        raise AssertionError(f"worker still running:\n{self.log()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()


class App:
    """The application directory, a client broker on its queue, and its workers."""

    def __init__(self, app_dir: Path, url: str, queue: str) -> None:
        self.app_dir, self.url, self.queue = app_dir, url, queue
        (app_dir / "app.py").write_text(APP)
        self.client = RedisBroker(url, queue_name=queue)
        self.workers: list[LoggedWorker] = []

    def worker(self, *args: str) -> LoggedWorker:
        worker = LoggedWorker(self.app_dir, self.url, self.queue, list(args))
        self.workers.append(worker)
        return worker

    async def kick(self, task: str, *args: object, **labels: object) -> str:
        """Send ``app:<task>`` by name; a client without the app's code gives its labels."""
        sent = await AsyncKicker(f"app:{task}", self.client, labels).kiq(*args)
        return sent.task_id


@pytest.fixture
async def app(tmp_path: Path, redis_url: str, queue_name: str) -> AsyncIterator[App]:
    application = App(tmp_path, redis_url, queue_name)
    await application.client.startup()
    yield application
    for worker in application.workers:
        worker.kill()
    await application.client.shutdown()


@pytest.fixture
def secret_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis that wants the password ``secret``."""
    server = RedisServer(tmp_path, ["--requirepass", "secret"])
    server.start()
    yield server
    server.stop()


async def test_failure_is_one_error_line_with_its_traceback(app: App) -> None:
    worker = app.worker("--max-async-tasks", "1")
    await worker.wait_log("taskiq worker ready")
    await app.kick("add", 2, 3)  # runs first (one at a time): its success is not shown at INFO
    task_id = await app.kick("boom")
    text = await worker.wait_log(rf"ERROR.*Task app:boom\[{task_id}\] failed in")
    line = f"Task app:boom[{task_id}] failed in"
    after = text[text.index(line) :]
    assert "s: ValueError: bad input on purpose\nTraceback (most recent call last):" in after
    assert 'raise ValueError("bad input on purpose")' in after
    assert text.count(line) == 1
    assert "succeeded" not in text


async def test_retried_failure_is_one_warning_and_the_last_one_error(app: App) -> None:
    worker = app.worker()
    await worker.wait_log("taskiq worker ready")
    task_id = await app.kick("flaky", retry_on_error=True, max_retries=2)
    text = await worker.wait_log(rf"Task app:flaky\[{task_id}\].*no retry left")
    lines = [line for line in text.splitlines() if f"app:flaky[{task_id}]" in line]
    assert len(lines) == 2, lines
    assert "[WARNING]" in lines[0]
    assert (
        "(attempt 1 of 2; retry in 0.2 s): ConnectionError: service down on purpose" in (lines[0])
    )
    assert "[ERROR  ]" in lines[1]
    assert "(attempt 2 of 2; no retry left): ConnectionError" in lines[1]
    assert text.count("Traceback (most recent call last):") == 2


async def test_timeout_says_which_timeout_was_hit(app: App) -> None:
    worker = app.worker()
    await worker.wait_log("taskiq worker ready")
    task_id = await app.kick("slow", timeout=0.3)
    text = await worker.wait_log(rf"Task app:slow\[{task_id}\] timed out")
    assert (
        f"[ERROR  ][worker-0:{_child_pid(text)}] Task app:slow[{task_id}] timed out: "
        "it ran past its timeout label of 0.3 s and was stopped"
    ) in text


async def test_debug_level_logs_one_line_per_success(app: App) -> None:
    worker = app.worker("--log-level", "DEBUG")
    await worker.wait_log("taskiq worker ready")
    task_id = await app.kick("add", 2, 3)
    text = await worker.wait_log(rf"Task app:add\[{task_id}\] succeeded in \d+\.\d{{3}} s: 5\n")
    assert text.count(f"Task app:add[{task_id}]") == 1
    assert "[taskiq.tasks][DEBUG  ]" in text


async def test_banner_names_broker_queue_tasks_and_settings_with_password_masked(
    tmp_path: Path,
    secret_redis: RedisServer,
    queue_name: str,
) -> None:
    url = f"redis://:secret@127.0.0.1:{secret_redis.port}/0"
    app = App(tmp_path, url, queue_name)
    worker = app.worker(
        "--max-async-tasks", "7", "--max-prefetch", "3", "--ack-type", "when_executed"
    )
    try:
        text = await worker.wait_log("taskiq worker ready")
        text = await worker.wait_log("wait-tasks-timeout:")
    finally:
        worker.kill()
    assert "secret" not in text
    banner = text[text.index("taskiq worker ready") :]
    rows = dict(re.findall(r"^  ([a-z -]+): +(.*)$", banner, flags=re.MULTILINE))
    assert rows["broker"] == "RedisBroker"
    assert rows["url"] == f"redis://:***@127.0.0.1:{secret_redis.port}/0"
    assert rows["queue"] == queue_name
    assert rows["stream"] == f"{{{queue_name}}}"
    assert rows["consumer group"] == "taskiq"
    assert rows["result backend"] == "DummyResultBackend"
    assert rows["tasks"] == "5: app:add, app:boom, app:flaky, app:hold, app:slow"
    assert rows["processes"] == "1"
    assert rows["max-async-tasks"] == "7"
    assert rows["max-prefetch"] == "3"
    assert rows["ack type"] == "when_executed"
    assert rows["wait-tasks-timeout"].startswith("none")


async def test_sigterm_accounts_for_running_and_handed_back_tasks(
    app: App,
    redis_client: Redis,
) -> None:
    for tag in ("first", "second", "third"):  # sent before the worker starts: read in one go
        await app.kick("hold", tag)
    worker = app.worker(
        "--max-async-tasks", "1", "--max-prefetch", "2", "--wait-tasks-timeout", "20"
    )
    await _wait_begun(redis_client, app.queue)
    worker.process.send_signal(signal.SIGTERM)
    await worker.wait_log(r"Stopping: 1 tasks running")
    await redis_client.set(f"{app.queue}:release", 1)
    assert await worker.wait_exit() == 0
    text = worker.log()
    assert (
        "Stopping: 1 tasks running, 2 fetched deliveries waiting; "
        "the running tasks may take up to 20 s (--wait-tasks-timeout)."
    ) in text
    assert (
        "Stopped: 1 tasks finished (1 of the 1 running at stop); 2 deliveries handed back "
        "to the broker unacknowledged (2 never started, 0 cancelled after --wait-tasks-timeout)."
    ) in text


async def _wait_begun(client: Redis, queue: str) -> None:
    end = time.monotonic() + DEADLINE
    while not await client.llen(f"{queue}:begun"):
        assert time.monotonic() < end, "the first task never started"
        await asyncio.sleep(0.05)


def _child_pid(text: str) -> str:
    found = re.search(r"\[worker-0:(\d+)\]", text)
    assert found is not None
    return found.group(1)
