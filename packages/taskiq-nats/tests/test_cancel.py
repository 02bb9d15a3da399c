"""Cancellation on NATS: JetStream workers (``taskiq worker --workers 2``), requests in KV claims.

A task cancelled before any worker runs never starts; a running async task stops
within a couple of seconds (one 0.5 s poll on a loaded machine).
"""

from __future__ import annotations

import asyncio
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
from taskiq import CancelOutcome, TaskCancelledError, TaskStatus
from taskiq.kicker import AsyncKicker
from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend

pytestmark = pytest.mark.timeout(300)
DEADLINE = 60.0
PROMPT = 2.0
WORKER = (sys.executable, "-m", "taskiq", "worker", "cancel_nats_app:broker")

APP = textwrap.dedent(
    """
    import asyncio
    import os
    from pathlib import Path

    from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend

    MARKS = Path(os.environ["CANCEL_MARKS"])
    broker = JetStreamBroker(
        os.environ["CANCEL_NATS"],
        subject=os.environ["CANCEL_SUBJECT"],
        stream_name=os.environ["CANCEL_STREAM"],
        queue=os.environ["CANCEL_QUEUE"],
    ).with_result_backend(
        NATSKeyValueResultBackend(
            os.environ["CANCEL_NATS"], bucket_name=os.environ["CANCEL_BUCKET"]
        )
    )


    @broker.task(task_name="cancel:record")
    async def record(tag: str) -> str:
        (MARKS / ("ran-" + tag)).touch()
        return tag


    @broker.task(task_name="cancel:hang")
    async def hang(tag: str) -> None:
        (MARKS / ("started-" + tag)).touch()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            (MARKS / ("cancelled-" + tag)).touch()
            raise
    """
)


@pytest.fixture
def options(nats_url: str, names: Any) -> dict[str, str]:
    bucket = names.bucket("cancel")
    names.buckets.append(f"{bucket}_claims")
    return {
        "subject": names.subject("cancel"),
        "stream_name": names.stream("cancel"),
        "queue": f"q_cancel_{names.suffix}",
        "bucket": bucket,
    }


@pytest.fixture
def worker(
    tmp_path: Path,
    nats_url: str,
    options: dict[str, str],
) -> Iterator[Any]:
    (tmp_path / "cancel_nats_app.py").write_text(APP)
    (tmp_path / "marks").mkdir()
    env = {
        **os.environ,
        "CANCEL_NATS": nats_url,
        "CANCEL_SUBJECT": options["subject"],
        "CANCEL_STREAM": options["stream_name"],
        "CANCEL_QUEUE": options["queue"],
        "CANCEL_BUCKET": options["bucket"],
        "CANCEL_MARKS": str(tmp_path / "marks"),
    }
    started: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start() -> None:
        with log.open("ab") as out:
            started.append(
                subprocess.Popen(
                    [*WORKER, "--workers", "2"],
                    cwd=tmp_path,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                ),
            )

    yield start, tmp_path / "marks", log
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
async def client(nats_url: str, options: dict[str, str]) -> AsyncIterator[JetStreamBroker]:
    broker = JetStreamBroker(
        nats_url,
        subject=options["subject"],
        stream_name=options["stream_name"],
        queue=options["queue"],
    ).with_result_backend(NATSKeyValueResultBackend(nats_url, bucket_name=options["bucket"]))
    await broker.startup()
    yield broker
    await broker.shutdown()


def _marked(path: Path) -> bool:
    return path.exists()


async def _until(path: Path) -> None:
    end = time.monotonic() + DEADLINE
    while not _marked(path):
        assert time.monotonic() < end, f"{path.name} never appeared"
        await asyncio.sleep(0.05)


async def _cancelled(task: Any) -> None:
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.05)
    assert isinstance(result.error, TaskCancelledError), result
    state = await task.get_state()
    assert state is not None
    assert state.status is TaskStatus.CANCELLED


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


async def test_cancel_before_start_and_while_running_on_jetstream(
    worker: Any,
    client: JetStreamBroker,
) -> None:
    start, marks, log = worker
    queued = await AsyncKicker("cancel:record", client, {}).kiq("queued")
    assert await queued.cancel() is CancelOutcome.REQUESTED
    start()
    control = await AsyncKicker("cancel:record", client, {}).kiq("control")
    assert (await control.wait_result(timeout=DEADLINE)).return_value == "control"
    await _cancelled(queued)
    assert not _marked(marks / "ran-queued")

    running = await AsyncKicker("cancel:hang", client, {}).kiq("r")
    await _until(marks / "started-r")
    asked = time.monotonic()
    assert await client.cancel(running.task_id) is CancelOutcome.REQUESTED
    await running.wait_result(timeout=DEADLINE, check_interval=0.02)
    assert time.monotonic() - asked < PROMPT
    await _cancelled(running)
    assert _marked(marks / "cancelled-r")
    text = _read(log)
    assert f"Task cancel:record[{queued.task_id}] cancelled before start" in text
    assert f"Task cancel:hang[{running.task_id}] cancelled while running" in text
    assert await control.cancel() is CancelOutcome.ALREADY_FINISHED
