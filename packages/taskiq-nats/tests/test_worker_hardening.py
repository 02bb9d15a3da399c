"""A real ``taskiq worker`` on the shared NATS server: forged input and idleness are harmless.

- A message whose ``Taskiq-Not-Before`` header is absurd (``1e300``) used to make
  ``msg.nak(delay=...)`` raise ``OverflowError``, killing the child every ~30 s;
  it is dead-lettered with its reason, and the other tasks keep flowing.
- An idle worker used to log "Fetching tasks failed (TimeoutError())" for empty
  fetches; an empty fetch is normal and logs nothing.
- A message over the server's ``max_payload`` is refused with a `SendTaskError`
  that names its size and the limit.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from taskiq import AsyncKicker, SendTaskError, TaskiqMessage
from taskiq_nats import JetStreamBroker
from taskiq_nats import headers as nats_headers

pytestmark = pytest.mark.slow

DEADLINE = 60.0
#: An idle worker (fetch timeout 0.5 s) is watched this long for log lines that must not appear.
IDLE_WATCH = 4.0

APP = """
import os
import pathlib

from taskiq_nats import JetStreamBroker

broker = JetStreamBroker(
    os.environ["NATS_URL"],
    queue=os.environ["APP_QUEUE"],
    subject=os.environ["APP_SUBJECT"],
    stream_name=os.environ["APP_STREAM"],
    pull_consume_timeout=0.5,
)
DONE = pathlib.Path(os.environ["APP_DONE"])


@broker.task(task_name="record")
async def record(tag: str) -> None:
    with DONE.open("a") as out:
        out.write(tag + "\\n")
"""


def _broker(settings: dict[str, str]) -> JetStreamBroker:
    return JetStreamBroker(
        settings["NATS_URL"],
        queue=settings["APP_QUEUE"],
        subject=settings["APP_SUBJECT"],
        stream_name=settings["APP_STREAM"],
    )


@pytest.fixture
def settings(nats_url: str, names: Any, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "app.py").write_text(APP)
    return {
        "NATS_URL": nats_url,
        "APP_QUEUE": f"q_{names.suffix}",
        "APP_SUBJECT": names.subject("hardening"),
        "APP_STREAM": names.stream("hardening"),
        "APP_DONE": str(tmp_path / "done.txt"),
    }


@pytest.fixture
def worker(settings: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1"],
        cwd=tmp_path,
        env={**os.environ, **settings},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    log.close()


def _log(tmp_path: Path) -> str:
    return (tmp_path / "worker.log").read_text(errors="replace")


async def _until(condition: Any, tmp_path: Path, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if await condition():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{what} within {DEADLINE} s\n--- worker log ---\n{_log(tmp_path)}")


def _done(settings: dict[str, str]) -> list[str]:
    path = Path(settings["APP_DONE"])
    return path.read_text().split() if path.exists() else []


async def _stop(worker: subprocess.Popen[bytes], tmp_path: Path) -> None:
    worker.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(worker.wait, DEADLINE)
    assert code == 0, _log(tmp_path)


async def _publish_forged(settings: dict[str, str], broker: JetStreamBroker, header: str) -> None:
    """Publish a well-formed task whose due time is ``header``, as a foreign client could."""
    message = TaskiqMessage(task_id="forged", task_name="record", args=["forged"])
    client = await nats.connect(settings["NATS_URL"])
    try:
        await client.jetstream().publish(
            settings["APP_SUBJECT"],
            broker.formatter.dumps(message).message,
            stream=settings["APP_STREAM"],
            headers={
                nats_headers.TASK_ID: "forged",
                nats_headers.TASK_NAME: "record",
                nats_headers.NOT_BEFORE: header,
            },
        )
    finally:
        await client.close()


async def test_an_absurd_due_time_is_dead_lettered_and_the_worker_goes_on_quietly(
    settings: dict[str, str],
    worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    broker = _broker(settings)
    await broker.startup()
    try:
        await _until(_truthy(lambda: "is ready" in _log(tmp_path)), tmp_path, "worker not ready")
        await _publish_forged(settings, broker, "1e300")
        for index in range(5):
            await AsyncKicker("record", broker, {}).kiq(f"ok-{index}")
        await _until(_truthy(lambda: len(_done(settings)) >= 5), tmp_path, "tasks not done")

        async def dead_lettered() -> bool:
            return any(letter.task_id == "forged" for letter in await broker.get_dead_letters())

        await _until(dead_lettered, tmp_path, "the forged message was not dead-lettered")
        [letter] = [x for x in await broker.get_dead_letters() if x.task_id == "forged"]
        assert letter.reason.startswith("malformed: Taskiq-Not-Before header '1e300'")
        # Idle now: empty fetches (every 0.5 s) must log nothing.
        await asyncio.sleep(IDLE_WATCH)
    finally:
        await broker.shutdown()
    await _stop(worker, tmp_path)
    log = _log(tmp_path)
    assert sorted(_done(settings)) == [f"ok-{index}" for index in range(5)]
    assert log.count("Started worker-0") == 1, log  # the child never died
    for absent in ("OverflowError", "Traceback", "Fetching tasks failed", "signal wakeup fd"):
        assert absent not in log, log


def _truthy(probe: Any) -> Any:
    async def check() -> bool:
        return bool(probe())

    return check


async def test_a_task_over_max_payload_names_its_size_and_the_limit(
    settings: dict[str, str],
) -> None:
    broker = _broker(settings)

    @broker.task(task_name="big")
    async def big(blob: str) -> None: ...

    await broker.startup()
    try:
        assert broker.client is not None
        limit = broker.client.max_payload
        with pytest.raises(SendTaskError) as caught:
            await big.kiq("x" * (limit + 1))
    finally:
        await broker.shutdown()
    text = str(caught.value)
    assert f"accepts at most {limit:,} bytes per message (its max_payload)" in text
    size = re.search(r"Task 'big' is ([\d,]+) bytes once serialized", text)
    assert size is not None, text
    assert int(size[1].replace(",", "")) > limit + 1  # the serialized message, not the argument
    assert "MaxPayloadError" not in text
