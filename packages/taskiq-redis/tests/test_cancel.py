"""Cancellation against real ``taskiq worker --workers 2`` processes on Redis streams.

A task cancelled while no worker runs never starts once one does; a running async
task stops within a second with its dependency torn down; a sync task in the
thread pool notices `Context.cancelled`; ``taskiq cancel`` says what happened in
its output and exit code (one real ``taskiq cancel`` process; the other cases run the
same command in this process, which spares a second of start-up each).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq import AsyncKicker, CancelOutcome, TaskCancelledError, TaskStatus
from taskiq.cli.ops.cancel import CancelCMD
from taskiq.control.cancellation import SupportsManyHolders, requested_among
from taskiq.task import AsyncTaskiqTask
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

pytestmark = pytest.mark.slow

DEADLINE = 60.0  # generous: two workers and their pools start slowly on a loaded machine
#: The promise is one poll (0.5 s) plus round trips; a loaded machine gets twice that.
PROMPT = 2.0

APP = textwrap.dedent(
    """
    import asyncio
    import os
    import time

    import redis
    from taskiq import Context, SmartRetryMiddleware, TaskiqDepends
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    URL = os.environ["TQ_URL"]
    QUEUE = os.environ["TQ_QUEUE"]
    marks = redis.Redis.from_url(URL)

    broker = (
        RedisStreamBroker(URL, queue_name=QUEUE, xread_block=200)
        .with_result_backend(RedisAsyncResultBackend(URL, prefix_str=QUEUE))
        .with_middlewares(SmartRetryMiddleware(default_delay=0.2))
    )


    def mark(name):
        marks.set(QUEUE + ":mark:" + name, os.getpid())


    async def resource(context: Context = TaskiqDepends()):
        try:
            yield "resource"
        finally:
            mark("closed:" + context.message.task_id)


    @broker.task(task_name="record")
    async def record(tag: str) -> str:
        mark("ran:" + tag)
        return tag


    @broker.task(task_name="hang", retry_on_error=True, max_retries=3)
    async def hang(tag: str, res: str = TaskiqDepends(resource)) -> str:
        mark("started:" + tag)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            mark("cancelled:" + tag)
            raise
        return res


    @broker.task(task_name="crunch")
    def crunch(tag: str, context: Context = TaskiqDepends()) -> str:
        mark("started:" + tag)
        end = time.monotonic() + 30
        while not context.cancelled and time.monotonic() < end:
            time.sleep(0.02)
        mark("noticed:" + tag)
        return "partial"


    @broker.task(task_name="stubborn")
    def stubborn(tag: str) -> None:
        mark("started:" + tag)  # the value is this pool process's id
        time.sleep(60)


    @broker.task(task_name="pid")
    def pid() -> int:
        return os.getpid()
    """,
)


class Workers:
    """The application directory; starts ``taskiq worker`` and runs ``taskiq cancel`` there."""

    def __init__(self, app_dir: Path, url: str, queue: str) -> None:
        self.app_dir, self.queue = app_dir, queue
        (app_dir / "cancel_app.py").write_text(APP)
        self.env = {**os.environ, "TQ_URL": url, "TQ_QUEUE": queue}
        self.log = app_dir / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> None:
        command = [sys.executable, "-m", "taskiq", "worker", "cancel_app:broker", "--workers", "2"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *extra],
                cwd=self.app_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def cancel(self, task_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "taskiq", "cancel", "cancel_app:broker", task_id, *extra],
            cwd=self.app_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )

    async def cancel_here(self, task_id: str, *extra: str) -> tuple[int, str, str]:
        """`cancel` in this process (a thread: it runs its own event loop); code, out, err."""
        os.environ.update(self.env)
        args = ["cancel_app:broker", task_id, "--app-dir", str(self.app_dir), *extra]
        with _captured() as (out, err):
            code = await asyncio.to_thread(CancelCMD().exec, args)
        return code, out.getvalue(), err.getvalue()

    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


@pytest.fixture
def workers(
    tmp_path: Path,
    redis_url: str,
    queue_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Workers]:
    monkeypatch.setenv("TQ_URL", redis_url)  # for cancel_here, which imports the app
    monkeypatch.setenv("TQ_QUEUE", queue_name)
    app = Workers(tmp_path, redis_url, queue_name)
    yield app
    app.stop()
    sys.modules.pop("cancel_app", None)


@pytest.fixture
async def client(redis_url: str, queue_name: str) -> AsyncIterator[RedisStreamBroker]:
    broker = RedisStreamBroker(redis_url, queue_name=queue_name).with_result_backend(
        RedisAsyncResultBackend(redis_url, prefix_str=queue_name),
    )
    await broker.startup()
    yield broker
    await broker.shutdown()


async def _send(client: RedisStreamBroker, name: str, *args: Any, **labels: Any) -> Any:
    task = await AsyncKicker(name, client, labels).kiq(*args)
    assert await task.get_state() is not None  # sends the pending "queued" first
    return task


async def _marked(redis_client: Redis, queue: str, name: str) -> bool:
    return bool(await redis_client.exists(f"{queue}:mark:{name}"))


async def _until_marked(redis_client: Redis, queue: str, name: str) -> None:
    end = time.monotonic() + DEADLINE
    while not await _marked(redis_client, queue, name):
        assert time.monotonic() < end, f"mark {name!r} never appeared"
        await asyncio.sleep(0.05)


async def _cancelled_result(task: AsyncTaskiqTask[Any]) -> None:
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.05)
    with pytest.raises(TaskCancelledError):
        result.raise_for_error()
    state = await task.get_state()
    assert state is not None
    assert state.status is TaskStatus.CANCELLED


async def test_tasks_cancelled_while_no_worker_runs_never_start(
    workers: Workers,
    client: RedisStreamBroker,
    redis_client: Redis,
    queue_name: str,
) -> None:
    queued = await _send(client, "record", "queued")
    delayed = await _send(client, "record", "delayed", delay=1)
    assert await queued.cancel() is CancelOutcome.REQUESTED
    assert await client.cancel(delayed.task_id) is CancelOutcome.REQUESTED
    control = await _send(client, "record", "control")
    workers.start()
    assert (await control.wait_result(timeout=DEADLINE)).return_value == "control"
    await _cancelled_result(queued)
    await _cancelled_result(delayed)
    assert not await _marked(redis_client, queue_name, "ran:queued")
    assert not await _marked(redis_client, queue_name, "ran:delayed")
    log = workers.logged()
    assert f"Task record[{queued.task_id}] cancelled before start" in log
    assert f"Task record[{delayed.task_id}] cancelled before start" in log

    code, out, err = await workers.cancel_here(control.task_id)
    assert (code, out) == (1, "")
    assert (
        err == f"taskiq cancel: task {control.task_id!r} is already finished; nothing to cancel.\n"
    )
    code, out, err = await workers.cancel_here("no-such-task", "--json")
    assert code == 1
    assert json.loads(out) == {"task_id": "no-such-task", "outcome": "unknown"}
    assert (await control.wait_result()).return_value == "control"  # untouched


async def test_running_tasks_stop_async_at_once_and_sync_by_polling(
    workers: Workers,
    client: RedisStreamBroker,
    redis_client: Redis,
    queue_name: str,
) -> None:
    workers.start()
    task = await _send(client, "hang", "a")
    await _until_marked(redis_client, queue_name, "started:a")
    done = workers.cancel(task.task_id)
    asked = time.monotonic()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Task {task.task_id}: cancellation requested")
    await task.wait_result(timeout=DEADLINE, check_interval=0.02)
    took = time.monotonic() - asked
    assert took < PROMPT, f"the task stopped {took:.2f} s after the request"
    await _cancelled_result(task)
    assert await _marked(redis_client, queue_name, "cancelled:a")
    assert await _marked(redis_client, queue_name, f"closed:{task.task_id}")  # torn down
    assert f"Task hang[{task.task_id}] cancelled while running" in workers.logged()

    code, out, _ = await workers.cancel_here(task.task_id, "--json")
    assert code == 0
    assert json.loads(out) == {"task_id": task.task_id, "outcome": "already_cancelled"}
    await asyncio.sleep(0.5)  # a retry (there must be none) would start within 0.2 s
    state = await task.get_state()
    assert state is not None
    assert [step.status for step in state.timeline].count(TaskStatus.STARTED) == 1

    # The same workers: a sync task in the thread pool notices Context.cancelled.
    crunch = await _send(client, "crunch", "s")
    await _until_marked(redis_client, queue_name, "started:s")
    asked = time.monotonic()
    assert await crunch.cancel() is CancelOutcome.REQUESTED
    await _until_marked(redis_client, queue_name, "noticed:s")
    assert time.monotonic() - asked < PROMPT
    await _cancelled_result(crunch)
    assert f"Task crunch[{crunch.task_id}] cancelled while running" in workers.logged()


async def test_a_sync_task_in_the_process_pool_is_stopped_by_ending_its_process(
    workers: Workers,
    client: RedisStreamBroker,
    redis_client: Redis,
    queue_name: str,
) -> None:
    workers.start("--use-process-pool", "--max-process-pool-processes", "1", "--cancel-grace", "1")
    task = await _send(client, "stubborn", "p")
    await _until_marked(redis_client, queue_name, "started:p")
    victim = int(await redis_client.get(f"{queue_name}:mark:started:p"))
    asked = time.monotonic()
    assert await task.cancel() is CancelOutcome.REQUESTED
    await task.wait_result(timeout=DEADLINE, check_interval=0.05)
    took = time.monotonic() - asked
    assert took < 1 + PROMPT, f"stopped {took:.2f} s after the request (grace 1 s)"
    await _cancelled_result(task)
    end = time.monotonic() + DEADLINE
    while _alive(victim):
        assert time.monotonic() < end, "the pool process still runs"
        await asyncio.sleep(0.05)
    assert "its pool process was ended" in workers.logged()
    after = await _send(client, "pid")
    replacement = (await after.wait_result(timeout=DEADLINE)).return_value
    assert replacement != victim


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_requests_of_many_tasks_are_read_in_one_batch(
    client: RedisStreamBroker,
) -> None:
    store = client.result_backend.claim_store()  # type: ignore[attr-defined]
    await client.cancel("one")
    await client.cancel("three")
    assert isinstance(store, SupportsManyHolders)
    found = await requested_among(store, ["one", "two", "three"])
    assert found == {"one", "three"}
