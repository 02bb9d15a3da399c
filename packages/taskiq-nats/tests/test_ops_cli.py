"""``taskiq status`` and ``purge`` as processes against NATS JetStream and a live worker.

The slow task waits for a file the test creates, so every wait is on a condition.
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
from taskiq.kicker import AsyncKicker
from taskiq_nats import JetStreamBroker

#: Each test runs several commands, each a Python process (seconds on a loaded machine).
pytestmark = pytest.mark.timeout(300)
DEADLINE = 60.0
WORKER = (sys.executable, "-m", "taskiq", "worker", "ops_nats_app:broker")

APP = textwrap.dedent(
    """
    import asyncio
    import os
    from pathlib import Path

    from taskiq_nats import JetStreamBroker

    broker = JetStreamBroker(
        os.environ["OPS_NATS"],
        subject=os.environ["OPS_SUBJECT"],
        stream_name=os.environ["OPS_STREAM"],
        queue=os.environ["OPS_QUEUE"],
    )


    @broker.task(task_name="ops:slow")
    async def slow() -> None:
        while not Path(os.environ["OPS_RELEASE"]).exists():
            await asyncio.sleep(0.05)
    """
)


@pytest.fixture
def options(nats_url: str, names: Any) -> dict[str, str]:
    return {
        "subject": names.subject("ops"),
        "stream_name": names.stream("ops"),
        "queue": f"q_ops_{names.suffix}",
    }


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "ops_nats_app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def env(nats_url: str, options: dict[str, str], app_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPS_NATS": nats_url,
        "OPS_SUBJECT": options["subject"],
        "OPS_STREAM": options["stream_name"],
        "OPS_QUEUE": options["queue"],
        "OPS_RELEASE": str(app_dir / "release"),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
async def client(nats_url: str, options: dict[str, str]) -> AsyncIterator[JetStreamBroker]:
    broker = JetStreamBroker(nats_url, **options)
    await broker.startup()
    yield broker
    await broker.shutdown()


def as_json(app_dir: Path, env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "taskiq", *args, "--json"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def until(probe: Callable[[], Awaitable[Any]], check: Callable[[Any], bool]) -> Any:
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
def worker(app_dir: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log = (app_dir / "worker.log").open("wb")
    process = subprocess.Popen(
        [*WORKER, "--workers", "1", "--max-async-tasks", "2", "--max-prefetch", "0"],
        cwd=app_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    (app_dir / "release").touch()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


async def test_status_shows_in_flight_while_the_worker_is_busy(
    app_dir: Path,
    env: dict[str, str],
    client: JetStreamBroker,
    worker: subprocess.Popen[bytes],
) -> None:
    for _ in range(4):
        await AsyncKicker("ops:slow", client, {}).kiq()
    inspector = client.queue_inspector()

    async def busy() -> tuple[int | None, int | None]:
        now = await inspector.depth()
        return now.ready, now.in_flight

    await until(busy, lambda seen: seen[0] + seen[1] == 4 and seen[1] >= 2)
    [entry] = as_json(app_dir, env, "status", "ops_nats_app:broker")["queues"]
    assert entry["queue"] == client.queue
    assert entry["in_flight"] >= 2, entry
    assert (entry["ready"] + entry["in_flight"], entry["delayed"], entry["dead"]) == (4, None, 0)
    (app_dir / "release").touch()
    await until(busy, lambda seen: seen == (0, 0))


async def test_purge_with_no_worker(
    app_dir: Path, env: dict[str, str], client: JetStreamBroker
) -> None:
    for _ in range(3):
        await AsyncKicker("ops:slow", client, {}).kiq()
    [entry] = as_json(app_dir, env, "status", "ops_nats_app:broker")["queues"]
    assert (entry["ready"], entry["in_flight"]) == (3, 0)
    purged = as_json(app_dir, env, "purge", "ops_nats_app:broker", "--yes")
    assert purged == {"queue": client.queue, "purged": 3}
    assert (await client.queue_inspector().depth()).ready == 0
