"""A dropped connection is ridden out inside the worker child (issue 21, failure 3).

With ``qos`` above the free task slots, deliveries wait in the child's buffer;
when the connection drops, asking their closed channel whether it is closed
raised ``ChannelInvalidStateError`` and killed the child. A real ``taskiq
worker`` consumes through a TCP proxy that the test takes down and brings back:
the supervisor must restart nothing and every task must run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pika_helpers import BrokerFactory, Names, TcpProxy
from taskiq import AsyncKicker

TASKS = 40

APP = """
import asyncio
import os
import pathlib

from taskiq_aio_pika import AioPikaBroker

OUT = pathlib.Path(os.environ["DROP_OUT"])
broker = AioPikaBroker(
    os.environ["DROP_URL"],
    qos=20,
    queue_name=os.environ["DROP_QUEUE"],
    exchange_name=os.environ["DROP_EXCHANGE"],
)


@broker.task(task_name="slow")
async def slow(number: int) -> None:
    await asyncio.sleep(0.2)
    (OUT / str(number)).write_text("done")
"""


@pytest.fixture
async def proxy(rabbit: str) -> AsyncIterator[TcpProxy]:
    server = TcpProxy()
    await server.start()
    yield server
    await server.stop()


async def until(condition: object, what: str, log: Path, deadline: float = 90.0) -> None:
    assert callable(condition)
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"Timed out waiting for {what}; worker log:\n{_text(log)}")
        await asyncio.sleep(0.1)


@pytest.mark.timeout(240)
async def test_a_dropped_connection_with_buffered_deliveries_kills_no_child(
    make_broker: BrokerFactory, names: Names, proxy: TcpProxy, tmp_path: Path
) -> None:
    (tmp_path / "drop_app.py").write_text(APP)
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "DROP_OUT": str(out),
        "DROP_URL": f"{proxy.url}?reconnect_interval=0.5",
        "DROP_QUEUE": names.queue,
        "DROP_EXCHANGE": names.exchange,
    }
    command = [sys.executable, "-m", "taskiq", "worker", "drop_app:broker"]
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [*command, "--workers", "1", "--max-async-tasks", "2"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        await until(lambda: "is ready" in _text(log), "the worker to be ready", log)
        client = await make_broker()
        for number in range(TASKS):
            await AsyncKicker("slow", client, {}).kiq(number)
        await until(lambda: len(list(out.iterdir())) >= 4, "the first tasks", log)

        await proxy.stop()  # the connection drops with deliveries still buffered
        await until(lambda: _lost(log), "the drop to be noticed", log, 20)
        await asyncio.sleep(2)
        await proxy.start()

        await until(lambda: len(list(out.iterdir())) == TASKS, f"all {TASKS} tasks", log)
        text = _text(log)
        assert "died" not in text, text
        assert "restarting" not in text, text
        assert text.count("Started worker-0") == 1, text
        assert "Traceback" not in text, text  # the drivers' tracebacks are for DEBUG only
        # The broker's listen() rode the drop out itself: the worker never had to reopen it.
        assert "[taskiq.worker][WARNING" not in text, text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


def _lost(log: Path) -> bool:
    """The driver noticed the drop (it logs its own reconnect)."""
    text = _text(log)
    return "closed. Reconnecting" in text or "Connection lost" in text or "died" in text
