"""Three ``taskiq scheduler`` processes on one Redis: each fire is sent once, a SIGKILL loses none.

The app's broker records every message it would send in a Redis list (send time,
task id); the schedules live in a `RedisScheduleSource`, the claims in the
`RedisAsyncResultBackend`. Then ``taskiq schedules`` lists and pauses them.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

URL = "redis://127.0.0.1:6379/0"

APP = textwrap.dedent(
    """
    import json
    import os
    import time

    from taskiq import AsyncBroker, TaskiqScheduler
    from taskiq_redis import RedisAsyncResultBackend, RedisScheduleSource

    PREFIX = os.environ["TEST_PREFIX"]


    class RecordingBroker(AsyncBroker):
        # Pushes (time, task id) of every message to a Redis list instead of a queue.
        async def kick(self, message):
            line = json.dumps({"at": time.time(), "id": message.task_id})
            await self.result_backend.redis.rpush(PREFIX + ":sent", line)

        async def listen(self):
            raise NotImplementedError
            yield b""


    broker = RecordingBroker().with_result_backend(
        RedisAsyncResultBackend("redis://127.0.0.1:6379/0", prefix_str=PREFIX)
    )
    source = RedisScheduleSource("redis://127.0.0.1:6379/0", prefix=PREFIX)
    scheduler = TaskiqScheduler(broker, [source])
    """,
)


@pytest.fixture
def app(tmp_path: Path, require_service: Callable[[str, str, int], None]) -> Path:
    require_service("redis", "127.0.0.1", 6379)
    (tmp_path / "replica_app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"test-sched-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(f"{name}*"))
    if keys:
        client.delete(*keys)


def _env(prefix: str) -> dict[str, str]:
    return {**os.environ, "TEST_PREFIX": prefix}


def _taskiq(app: Path, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "taskiq", *args]
    return subprocess.run(
        command, cwd=app, env=_env(prefix), capture_output=True, text=True, timeout=60
    )


def _add_schedule(prefix: str, **fields: object) -> None:
    document = {"task_name": "tick", "schedule_id": "tick", "interval": 1, **fields}
    redis.Redis.from_url(URL).hset(f"{prefix}:schedules", "tick", json.dumps(document))


def _sent(prefix: str) -> list[dict[str, float | str]]:
    raw = redis.Redis.from_url(URL).lrange(f"{prefix}:sent", 0, -1)
    return [json.loads(line) for line in raw]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_three_replicas_send_one_fire_per_second_through_a_sigkill(app: Path, prefix: str) -> None:
    _add_schedule(prefix)
    logs = [app / f"replica-{n}.log" for n in range(3)]
    handles = [log.open("w") for log in logs]
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "taskiq", "scheduler", "replica_app:scheduler"],
            cwd=app,
            env=_env(prefix),
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
        for handle in handles
    ]
    try:
        deadline = time.monotonic() + 90  # imports are slow on a loaded machine
        while not all("Scheduler started" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "the replicas did not start within 90 s"
            assert all(replica.poll() is None for replica in replicas), _tails(logs)
            time.sleep(0.1)
        started = len(_sent(prefix))
        time.sleep(5)
        replicas[0].kill()  # SIGKILL: no shutdown, its claims stay until they expire
        time.sleep(10)
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.kill()
        for handle in handles:
            handle.close()
    sent = _sent(prefix)[max(started - 1, 0) :]
    ids = [entry["id"] for entry in sent]
    assert len(ids) == len(set(ids)), "a fire was sent twice"
    times = [float(entry["at"]) for entry in sent]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 2.0, (gaps, _tails(logs))
    assert len(sent) >= 14  # about one a second for 15 s, none lost
    assert all(abs(t - round(t)) < 0.1 for t in times[1:]), times  # on their seconds


def _tails(logs: list[Path]) -> str:
    return "\n".join(log.read_text()[-2000:] for log in logs)


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_schedules_command_lists_pauses_resumes_and_deletes(app: Path, prefix: str) -> None:
    _add_schedule(prefix, overlap="skip")
    listed = _taskiq(app, prefix, "schedules", "replica_app:scheduler", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["schedule_id"], row["overlap"], row["paused"]) == ("tick", "skip", False)
    assert row["next_fire"] is not None

    paused = _taskiq(app, prefix, "schedules", "replica_app:scheduler", "pause", "tick")
    assert paused.returncode == 0, paused.stderr
    stored = json.loads(redis.Redis.from_url(URL).hget(f"{prefix}:schedules", "tick") or b"{}")
    assert stored["paused"] is True
    assert stored["overlap"] == "skip"

    upcoming = _taskiq(
        app, prefix, "schedules", "replica_app:scheduler", "next", "tick", "--count", "3", "--json"
    )
    assert len(json.loads(upcoming.stdout)["next"]) == 3

    missing = _taskiq(app, prefix, "schedules", "replica_app:scheduler", "resume", "nope")
    assert missing.returncode == 1
    assert "no schedule 'nope'" in missing.stderr

    deleted = _taskiq(app, prefix, "schedules", "replica_app:scheduler", "delete", "tick", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert not redis.Redis.from_url(URL).hexists(f"{prefix}:schedules", "tick")
