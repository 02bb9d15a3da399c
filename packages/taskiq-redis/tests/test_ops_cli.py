"""``taskiq status``, ``dead-letters`` and ``purge`` as processes, against Redis and a live worker.

Each test writes an app module into its temporary directory (queue and marker
keys from the environment), runs the commands with ``python -m taskiq`` and,
where the behaviour is about a running system, a real ``taskiq worker``.
Tasks signal through Redis keys, so every wait is on an observable condition.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis_test_helpers import kicker
from taskiq.testing.dead_letter_contract import message_for, taken
from taskiq_redis import RedisBroker
from taskiq_redis.queues import RedisQueueInspector

#: Each test runs several commands, each a Python process (seconds on a loaded machine).
pytestmark = pytest.mark.timeout(300)

APP = textwrap.dedent(
    """
    import asyncio
    import os

    from redis.asyncio import Redis
    from taskiq import Context, TaskiqDepends
    from taskiq_redis import RedisBroker

    QUEUE = os.environ["OPS_QUEUE"]
    URL = os.environ["OPS_REDIS"]
    broker = RedisBroker(URL, queue_name=QUEUE, xread_block=200)


    @broker.task(task_name="ops:slow")
    async def slow() -> None:
        async with Redis.from_url(URL) as redis:
            await redis.incr(QUEUE + ":started")
            while not await redis.exists(QUEUE + ":release"):
                await asyncio.sleep(0.05)


    @broker.task(task_name="ops:poison")
    async def poison(context: Context = TaskiqDepends()) -> None:
        async with Redis.from_url(URL) as redis:
            if not await redis.exists(QUEUE + ":healed"):
                context.reject()
            await redis.incr(QUEUE + ":done")
    """
)

#: Seconds one command may take; and any wait of a test.
COMMAND_TIMEOUT = 60
DEADLINE = 60.0


async def until(probe: Callable[[], Awaitable[Any]], check: Callable[[Any], bool]) -> Any:
    """Poll ``probe`` until ``check`` accepts its value; that value (fail after `DEADLINE`)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > end:
            raise AssertionError(f"still {value!r} after {DEADLINE} s")
        await asyncio.sleep(0.1)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "ops_redis_app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def env(redis_url: str, queue_name: str) -> dict[str, str]:
    return {**os.environ, "OPS_QUEUE": queue_name, "OPS_REDIS": redis_url, "PYTHONUNBUFFERED": "1"}


def taskiq(app_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``taskiq <args>`` in ``app_dir``; the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "taskiq", *args],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def as_json(app_dir: Path, env: dict[str, str], *args: str) -> Any:
    """The JSON document ``taskiq <args> --json`` prints (it must exit 0)."""
    done = taskiq(app_dir, env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def depth(app_dir: Path, env: dict[str, str], *queues: str) -> dict[str, dict[str, Any]]:
    """``taskiq status --json`` by queue name."""
    options = [part for queue in queues for part in ("--queue", queue)]
    document = as_json(app_dir, env, "status", "ops_redis_app:broker", *options)
    return {entry["queue"]: entry for entry in document["queues"]}


@pytest.fixture
def worker(app_dir: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A live ``taskiq worker`` (one child, two tasks at a time, no prefetch)."""
    log = (app_dir / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            "ops_redis_app:broker",
            "--workers",
            "1",
            "--max-async-tasks",
            "2",
            "--max-prefetch",
            "0",
        ],
        cwd=app_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
async def inspector(redis_url: str, queue_name: str) -> AsyncIterator[RedisQueueInspector]:
    """The queue's inspector in this process: what the tests wait on (commands are slow)."""
    broker = RedisBroker(redis_url, queue_name=queue_name)
    await broker.startup()
    yield broker.queue_inspector()
    await broker.shutdown()


async def kick(redis_url: str, queue: str, task: str, count: int, **labels: Any) -> None:
    """Send ``count`` calls of ``task`` (by name) as a client of ``queue``."""
    broker = RedisBroker(redis_url, queue_name=queue)
    await broker.startup()
    try:
        for _ in range(count):
            await kicker(broker, task, **labels).kiq()
    finally:
        await broker.shutdown()


async def test_status_shows_ready_and_delayed_with_no_worker(
    app_dir: Path, env: dict[str, str], redis_url: str, queue_name: str
) -> None:
    await kick(redis_url, queue_name, "ops:slow", 4)
    await kick(redis_url, queue_name, "ops:slow", 1, delay=600)
    found = await asyncio.to_thread(depth, app_dir, env)
    assert found[queue_name] == {
        "queue": queue_name,
        "ready": 4,
        "delayed": 1,
        "in_flight": 0,
        "dead": 0,
    }
    table = taskiq(app_dir, env, "status", "ops_redis_app:broker")
    assert table.returncode == 0, table.stderr
    assert "in flight" in table.stdout
    assert queue_name in table.stdout


async def test_status_shows_in_flight_while_the_worker_is_busy(
    app_dir: Path,
    env: dict[str, str],
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
    inspector: RedisQueueInspector,
    worker: subprocess.Popen[bytes],
) -> None:
    await kick(redis_url, queue_name, "ops:slow", 5)

    async def started() -> int:
        return int(await redis_client.get(f"{queue_name}:started") or 0)

    await until(started, lambda value: value == 2)

    async def busy() -> tuple[int | None, int | None]:
        now = await inspector.depth()
        return now.ready, now.in_flight

    # Two running; the receiver may hold one more it has fetched but not started.
    await until(busy, lambda seen: seen[0] + seen[1] == 5 and seen[1] >= 2)
    entry = (await asyncio.to_thread(depth, app_dir, env))[queue_name]
    assert entry["in_flight"] in (2, 3), entry
    assert (entry["ready"] + entry["in_flight"], entry["delayed"], entry["dead"]) == (5, 0, 0)
    await redis_client.set(f"{queue_name}:release", 1)
    await until(busy, lambda seen: seen == (0, 0))
    assert await started() == 5
    entry = (await asyncio.to_thread(depth, app_dir, env))[queue_name]
    assert (entry["ready"], entry["in_flight"]) == (0, 0)


async def test_dead_letters_replay_brings_a_poison_message_back(
    app_dir: Path,
    env: dict[str, str],
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
    inspector: RedisQueueInspector,
    worker: subprocess.Popen[bytes],
) -> None:
    await kick(redis_url, queue_name, "ops:poison", 1)

    async def dead() -> int | None:
        return (await inspector.depth()).dead

    await until(dead, lambda count: count == 1)
    counted = as_json(app_dir, env, "dead-letters", "ops_redis_app:broker", "count")
    assert counted == {"count": 1}
    listed = as_json(app_dir, env, "dead-letters", "ops_redis_app:broker", "list")
    [letter] = listed["letters"]
    assert (letter["task_name"], letter["reason"]) == ("ops:poison", "rejected by the task")
    assert depth(app_dir, env)[queue_name]["dead"] == 1

    refused = taskiq(app_dir, env, "dead-letters", "ops_redis_app:broker", "replay", letter["id"])
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    assert await dead() == 1

    await redis_client.set(f"{queue_name}:healed", 1)
    replayed = as_json(
        app_dir, env, "dead-letters", "ops_redis_app:broker", "replay", letter["id"], "--yes"
    )
    assert replayed == {"replayed": 1, "asked": 1}

    async def done() -> int:
        return int(await redis_client.get(f"{queue_name}:done") or 0)

    await until(done, lambda count: count == 1)
    assert await dead() == 0
    assert as_json(app_dir, env, "dead-letters", "ops_redis_app:broker", "count") == {"count": 0}


async def test_dead_letters_delete_all_asks_then_forgets_them(
    app_dir: Path,
    env: dict[str, str],
    redis_url: str,
    queue_name: str,
    inspector: RedisQueueInspector,
    worker: subprocess.Popen[bytes],
) -> None:
    await kick(redis_url, queue_name, "ops:poison", 3)

    async def dead() -> int | None:
        return (await inspector.depth()).dead

    await until(dead, lambda count: count == 3)
    page = as_json(app_dir, env, "dead-letters", "ops_redis_app:broker", "list", "--limit", "2")
    assert len(page["letters"]) == 2
    assert page["next_cursor"] is not None
    every = as_json(
        app_dir, env, "dead-letters", "ops_redis_app:broker", "list", "--limit", "2", "--all"
    )
    assert len(every["letters"]) == 3
    assert (
        taskiq(app_dir, env, "dead-letters", "ops_redis_app:broker", "delete", "--all").returncode
        == 1
    )
    assert await dead() == 3
    deleted = as_json(
        app_dir, env, "dead-letters", "ops_redis_app:broker", "delete", "--all", "--yes"
    )
    assert deleted == {"deleted": 3, "asked": 3}
    assert await dead() == 0


async def test_purge_empties_only_the_named_queue(
    app_dir: Path,
    env: dict[str, str],
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    other = f"{queue_name}-other"
    await kick(redis_url, queue_name, "ops:slow", 3)
    await kick(redis_url, queue_name, "ops:slow", 2, queue_name=other)
    before = depth(app_dir, env, queue_name, other)
    assert (before[queue_name]["ready"], before[other]["ready"]) == (3, 2)

    refused = taskiq(app_dir, env, "purge", "ops_redis_app:broker", "--queue", other)
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    purged = as_json(app_dir, env, "purge", "ops_redis_app:broker", "--queue", other, "--yes")
    assert purged == {"queue": other, "purged": 2}

    after = depth(app_dir, env, queue_name, other)
    assert (after[queue_name]["ready"], after[other]["ready"]) == (3, 0)
    keys = [key async for key in redis_client.scan_iter(match=f"*{other}*")]
    if keys:
        await redis_client.delete(*keys)


def test_an_unknown_queue_is_one_line_and_exit_1(app_dir: Path, env: dict[str, str]) -> None:
    done = taskiq(app_dir, env, "status", "ops_redis_app:broker", "--queue", "no-such-queue")
    assert done.returncode == 1
    assert "no-such-queue" in done.stderr
    assert "Traceback" not in done.stderr


async def test_replay_all_to_another_queue(
    app_dir: Path,
    env: dict[str, str],
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
    inspector: RedisQueueInspector,
) -> None:
    """``replay --all --to-queue Q`` moves every dead letter onto ``Q`` as a ready message."""
    other = f"{queue_name}-replayed"
    broker = RedisBroker(redis_url, queue_name=queue_name, xread_block=200)
    broker.is_worker_process = True
    await broker.startup()
    try:
        for _ in range(3):
            await broker.kick(message_for(broker))
        async with taken(broker, 3) as deliveries:
            for delivery in deliveries:
                assert delivery.dead_letter is not None
                await delivery.dead_letter("test")
    finally:
        await broker.shutdown()
    assert (await inspector.depth()).dead == 3
    replayed = as_json(
        app_dir,
        env,
        "dead-letters",
        "ops_redis_app:broker",
        "replay",
        "--all",
        "--to-queue",
        other,
        "--yes",
    )
    assert replayed == {"replayed": 3, "asked": 3}
    after = depth(app_dir, env, queue_name, other)
    assert (after[queue_name]["dead"], after[other]["ready"]) == (0, 3)
    keys = [key async for key in redis_client.scan_iter(match=f"*{other}*")]
    if keys:
        await redis_client.delete(*keys)
