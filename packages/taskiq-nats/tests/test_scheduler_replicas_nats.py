"""Three ``taskiq scheduler`` processes on NATS KV (schedules and claims): each fire once.

The app's broker counts every message it would send in a Redis list (send time,
task id), as the Redis replica test does; schedules live in a
`NATSKeyValueScheduleSource` and fire claims in the `NATSKeyValueResultBackend`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from taskiq import ScheduledTask
from taskiq_nats import NATSKeyValueScheduleSource

REDIS_URL = "redis://127.0.0.1:6379/0"

APP = textwrap.dedent(
    """
    import json
    import os
    import time

    import redis.asyncio

    from taskiq import AsyncBroker, TaskiqScheduler
    from taskiq_nats import NATSKeyValueResultBackend, NATSKeyValueScheduleSource

    NATS = os.environ["TEST_NATS"]
    SENT = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")


    class RecordingBroker(AsyncBroker):
        # Pushes (time, task id) of every message to a Redis list instead of a queue.
        async def kick(self, message):
            line = json.dumps({"at": time.time(), "id": message.task_id})
            await SENT.rpush(os.environ["TEST_SENT"], line)

        async def listen(self):
            raise NotImplementedError
            yield b""


    broker = RecordingBroker().with_result_backend(
        NATSKeyValueResultBackend(NATS, bucket_name=os.environ["TEST_RESULTS"])
    )
    source = NATSKeyValueScheduleSource(NATS, bucket_name=os.environ["TEST_SCHEDULES"])
    scheduler = TaskiqScheduler(broker, [source])
    """,
)


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_three_replicas_on_nats_send_one_fire_per_second_through_a_sigkill(
    tmp_path: Path,
    nats_url: str,
    names: Any,
    require_service: Callable[[str, str, int], None],
) -> None:
    require_service("redis", "127.0.0.1", 6379)
    (tmp_path / "nats_replica_app.py").write_text(APP)
    results, schedules = names.bucket("results"), names.bucket("schedules")
    names.buckets.append(f"{results}_claims")
    sent_key = f"test-sched-nats-{names.suffix}"
    source = NATSKeyValueScheduleSource(nats_url, bucket_name=schedules)
    await source.startup()
    await source.add_schedule(ScheduledTask(task_name="tick", interval=1, schedule_id="tick"))
    await source.shutdown()
    env = {
        **os.environ,
        "TEST_NATS": nats_url,
        "TEST_SENT": sent_key,
        "TEST_RESULTS": results,
        "TEST_SCHEDULES": schedules,
    }
    logs = [tmp_path / f"replica-{n}.log" for n in range(3)]
    handles = [log.open("w") for log in logs]
    replicas = [_start(tmp_path, env, handle) for handle in handles]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        deadline = time.monotonic() + 90  # imports are slow on a loaded machine
        while not all("Scheduler started" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "the replicas did not start within 90 s"
            assert all(r.poll() is None for r in replicas), _tails(logs)
            await asyncio.sleep(0.1)
        started = client.llen(sent_key)
        await asyncio.sleep(4)
        replicas[0].kill()  # SIGKILL: its claims stay until they expire
        await asyncio.sleep(8)
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                await asyncio.to_thread(replica.wait, 20)
            except subprocess.TimeoutExpired:
                replica.kill()
        for handle in handles:
            handle.close()
    sent = [json.loads(line) for line in client.lrange(sent_key, max(started - 1, 0), -1)]
    client.delete(sent_key)
    ids = [entry["id"] for entry in sent]
    assert len(ids) == len(set(ids)), "a fire was sent twice"
    times = [float(entry["at"]) for entry in sent]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 2.0, _tails(logs)
    assert len(sent) >= 11  # about one a second for 12 s, none lost


def _start(cwd: Path, env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "taskiq", "scheduler", "nats_replica_app:scheduler"]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _tails(logs: list[Path]) -> str:
    return "\n".join(log.read_text()[-2000:] for log in logs)
