"""``taskiq worker --reload``: file changes restart the children, .gitignore permitting.

The reload settles: only ``--reload-pattern`` files count (``*.py``), the
worker's own log file never does, a burst of changes gives one reload, and a
change made while children are starting waits until they are ready.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness, Worker

#: An app whose children do not get ready while the key ``<prefix>:gate`` exists.
GATED_APP = """
import asyncio
import os

from redis.asyncio import Redis

from redis_list_broker import REDIS_URL, RedisListBroker
from taskiq import TaskiqEvents

PREFIX = os.environ["TASKIQ_TEST_PREFIX"]
VERSION = "v1"
broker = RedisListBroker(queue=PREFIX + ":queue")


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def started(state):
    client = Redis.from_url(REDIS_URL)
    await client.rpush(PREFIX + ":started", f"{os.getpid()}:{VERSION}")
    while await client.exists(PREFIX + ":gate"):
        await asyncio.sleep(0.02)
    await client.aclose()


@broker.task
async def record(tag: str) -> None:
    client = Redis.from_url(REDIS_URL)
    await client.rpush(PREFIX + ":done", f"{tag}:{VERSION}")
    await client.aclose()
"""

pytestmark = pytest.mark.slow


@pytest.fixture
async def harness(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> AsyncIterator[Harness]:
    require_service("redis", "127.0.0.1", 6379)
    harness = Harness(tmp_path)
    (harness.app_dir / ".gitignore").write_text("ignored.py\n")
    await harness.start()
    yield harness
    await harness.close()


async def _started_watching(harness: Harness, worker: Worker) -> None:
    await harness.wait_items("started", 1)
    await worker.wait_log("Watching ")


def _reload_lines(worker: Worker) -> list[str]:
    return [line for line in worker.log().splitlines() if "Reloading the children" in line]


def _reloaded_files(worker: Worker) -> list[set[str]]:
    """The file names that triggered each reload, in order."""
    found = []
    for line in _reload_lines(worker):
        listed = line.split("files changed: ", 1)[1].rstrip(".")
        found.append({Path(path).name for path in listed.split(", ")})
    return found


def _bump(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(f'VERSION = "{old}"', f'VERSION = "{new}"'))


async def test_reload_restarts_children_with_new_code_ignoring_gitignored_files(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--reload")
    await _started_watching(harness, worker)
    (harness.app_dir / "ignored.py").write_text("noise")
    app = harness.app_dir / "app.py"
    app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    await worker.wait_log("Reloading the children")
    await harness.wait_items("started", 2)
    await worker.wait_log("exited with code 0")
    await harness.kick("record", "after")
    [done] = await harness.wait_items("done", 1)
    assert done.endswith(":v2")
    lines = _reload_lines(worker)
    assert any("app.py" in line for line in lines)
    assert not any("ignored.py" in line for line in lines)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_do_not_use_gitignore_reloads_for_ignored_files_too(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--reload", "--do-not-use-gitignore")
    await _started_watching(harness, worker)
    (harness.app_dir / "ignored.py").write_text("noise")
    await worker.wait_log("Reloading the children")
    assert any("ignored.py" in line for line in _reload_lines(worker))
    await harness.wait_items("started", 2)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_reload_dir_chooses_the_watched_directories(
    harness: Harness,
    tmp_path: Path,
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    worker = harness.worker(
        "app:broker", "--workers", "1", "--reload", "--reload-dir", str(watched)
    )
    await _started_watching(harness, worker)
    assert f"Watching {watched}" in worker.log()
    (watched / "settings.py").write_text("X = 1\n")
    await worker.wait_log("Reloading the children")
    assert any("settings.py" in line for line in _reload_lines(worker))
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_with_reload_a_broken_app_waits_for_a_fix_instead_of_exiting(
    harness: Harness,
) -> None:
    app = harness.app_dir / "app.py"
    good = app.read_text()
    app.write_text(good + "\nthis is not python\n")
    worker = harness.worker("app:broker", "--workers", "1", "--reload")
    await worker.wait_log("cannot load the application; waiting for a change")
    assert worker.process.poll() is None
    app.write_text(good)
    await harness.wait_items("started", 1)
    await harness.kick("record", "fixed")
    await harness.wait_items("done", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def _served(harness: Harness, tag: str, count: int) -> str:
    await harness.kick("record", tag)
    done = await harness.wait_items("done", count)
    assert done[-1].startswith(f"{tag}:")
    return done[-1]


async def test_own_log_file_and_other_files_in_the_app_dir_do_not_reload(
    harness: Harness,
) -> None:
    # The log goes into the watched directory, and *.log files do count: only the
    # worker knowing its own log keeps each logged line from reloading it again.
    worker = Worker(
        harness.app_dir,
        harness.app_dir,
        harness.prefix,
        ["app:broker", "--workers", "1", "--reload", "--log-level", "DEBUG",
         "--reload-pattern", "*.py", "--reload-pattern", "*.log"],
    )  # fmt: skip
    harness.workers.append(worker)
    await _started_watching(harness, worker)
    assert await _served(harness, "first", 1)
    data = harness.app_dir / "data"
    data.mkdir()
    for number in range(30):
        (data / f"row-{number}.json").write_text("{}")
        (harness.app_dir / f"notes-{number}.txt").write_text("x")
    _bump(harness.app_dir / "app.py", "v1", "v2")
    await worker.wait_log("Reloading the children")
    await harness.wait_items("started", 2)
    await worker.wait_log("exited with code 0")
    assert (await _served(harness, "after-reload", 2)).endswith(":v2")
    (harness.app_dir / "marker.log").write_text("a log that is not the worker's")
    await worker.wait_log("Reloading the children", count=2)
    await harness.wait_items("started", 3)
    await _served(harness, "after-marker", 3)
    assert _reloaded_files(worker) == [{"app.py"}, {"marker.log"}]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_a_burst_of_python_changes_reloads_once(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--reload")
    await _started_watching(harness, worker)
    # Spread over more than watchfiles' own grouping (50 ms of silence ends a batch),
    # the way a checkout or a formatter touches files: the worker still reloads once.
    for number in range(15):
        (harness.app_dir / f"module_{number}.py").write_text(f"N = {number}\n")
        await asyncio.sleep(0.1)
    _bump(harness.app_dir / "app.py", "v1", "v2")
    await worker.wait_log("Reloading the children")
    await harness.wait_items("started", 2)
    await worker.wait_log("exited with code 0")
    assert (await _served(harness, "after-burst", 1)).endswith(":v2")
    (harness.app_dir / "marker.py").write_text("")  # a later change: the next reload
    await worker.wait_log("Reloading the children", count=2)
    burst = {f"module_{number}.py" for number in range(15)} | {"app.py"}
    assert _reloaded_files(worker) == [burst, {"marker.py"}]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_a_change_while_children_start_reloads_once_they_are_ready(
    harness: Harness,
) -> None:
    app = harness.app_dir / "gated.py"
    app.write_text(GATED_APP)
    worker = harness.worker("gated:broker", "--workers", "1", "--reload")
    await _started_watching(harness, worker)
    await worker.wait_log("is ready")
    await harness.redis.set(harness.key("gate"), 1)
    _bump(app, "v1", "v2")
    [_, starting] = await harness.wait_items("started", 2)
    assert starting.endswith(":v2")
    _bump(app, "v2", "v3")
    await worker.wait_log("it waits until the starting children are ready")
    assert len(_reload_lines(worker)) == 1
    await harness.redis.delete(harness.key("gate"))
    await worker.wait_log("Reloading the children", count=2)
    started = await harness.wait_items("started", 3)
    assert started[2].endswith(":v3")
    await harness.kick_named("gated:record", "served")
    assert await harness.wait_items("done", 1) == ["served:v3"]
    log = worker.log()
    v2_pid = starting.split(":")[0]
    ready = re.search(rf"worker-0 \(pid {v2_pid}\) is ready", log)
    assert ready is not None  # the v2 child was let finish starting
    assert ready.start() < [m.start() for m in re.finditer("Reloading the children", log)][1]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
