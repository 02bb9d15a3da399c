"""A task that blocks the event loop runs once: heartbeats go on from a thread.

``time.sleep`` inside ``async def`` stops every ``in_progress`` heartbeat on the
loop; taskiq_nats.blocked_loop sends them from a helper thread instead, and the
core watchdog logs a WARNING naming the task. ack_wait is 2 s, the task blocks 8.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from taskiq.acks import AckableMessage
from taskiq.kicker import AsyncKicker
from taskiq.testing.worker_registry_contract import eventually as until
from taskiq_nats import JetStreamBroker, PullBasedJetStreamBroker

pytestmark = pytest.mark.slow

HERE = pathlib.Path(__file__).parent
ACK_WAIT = 2.0
BLOCK_SECONDS = 8.0
SHORT_TASKS = 10


def _runs(log: pathlib.Path, kind: str) -> Counter[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split()[1] for line in lines if line.startswith(kind + " "))


def _cli_workers(settings: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            "nats_blocking_app:broker",
            "--app-dir",
            str(HERE),
            "--workers",
            "2",
        ],
        env={**os.environ, **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_a_task_blocking_the_loop_runs_exactly_once_and_is_named(
    nats_url: str,
    names: Any,
    tmp_path: pathlib.Path,
    eventually: Any,
) -> None:
    log = tmp_path / "runs.log"
    settings = {
        "TQ_NATS_URL": nats_url,
        "TQ_STREAM": names.stream(),
        "TQ_SUBJECT": names.subject(),
        "TQ_QUEUE": f"q_{names.suffix}",
        "TQ_ACK_WAIT": str(ACK_WAIT),
        "TQ_LOG": str(log),
    }
    client = JetStreamBroker(
        nats_url,
        queue=settings["TQ_QUEUE"],
        subject=settings["TQ_SUBJECT"],
        stream_name=settings["TQ_STREAM"],
        ack_wait=ACK_WAIT,
    )
    await client.startup()
    worker = _cli_workers(settings)
    try:
        await AsyncKicker("block_loop", client, {}).kiq("blocker", BLOCK_SECONDS)
        for number in range(SHORT_TASKS):
            await AsyncKicker("record", client, {}).kiq(f"short{number}")
        await eventually(lambda: len(_runs(log, "done")) == SHORT_TASKS + 1, timeout=60)
        # A copy redelivered after ack_wait would have started long before the first run ended.
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
        text = stderr.decode(errors="replace")
        started = _runs(log, "start")
        assert set(started.values()) == {1}, f"tasks ran more than once: {started}\n{text[-3000:]}"
        assert len(started) == SHORT_TASKS + 1
        assert "The event loop has been blocked" in text, text[-3000:]
        assert "'block_loop'" in text, text[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=20)
        await client.shutdown()


async def test_messages_left_unread_through_a_blocked_loop_are_delivered_again_not_run_twice(
    nats_url: str,
    names: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A fetch answered while the loop was stuck past ack_wait/2 hands back nothing.

    The server may already have given those messages to another worker; the
    broker leaves them unsettled and takes them on their next delivery.
    """
    options: dict[str, Any] = {
        "subject": names.subject(),
        "stream_name": names.stream(),
        "durable": f"d_{names.suffix}",
        "ack_wait": ACK_WAIT,
    }
    broker = PullBasedJetStreamBroker(nats_url, **options)
    sender = PullBasedJetStreamBroker(nats_url, **options)
    broker.is_worker_process = True
    await broker.startup()
    await sender.startup()
    messages = broker.listen()
    first = asyncio.create_task(anext(messages))
    try:
        await until(lambda: fetch_waiting(sender))
        await AsyncKicker("record", sender, {}).kiq("stale")
        time.sleep(ACK_WAIT * 0.75)  # noqa: ASYNC251 - the stall under test
        message = await asyncio.wait_for(first, timeout=30)
        assert isinstance(message, AckableMessage)
        info = await consumer_of(sender)
        assert info.num_redelivered == 1, "the stale copy was handed to the receiver"
        assert "waited unread" in caplog.text
        await message.ack()  # type: ignore[misc]
        await until(lambda: settled(sender))
    finally:
        if not first.done():
            first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await messages.aclose()
        await sender.shutdown()
        await broker.shutdown()


async def consumer_of(peer: PullBasedJetStreamBroker) -> Any:
    """The shared durable consumer as the server sees it, asked over ``peer``'s connection."""
    assert peer.client is not None
    return await peer.client.jetstream().consumer_info(peer.stream_name, peer.durable)


async def fetch_waiting(peer: PullBasedJetStreamBroker) -> bool:
    """True once a pull request of the consumer is waiting on the server."""
    try:
        return bool((await consumer_of(peer)).num_waiting)
    except NotFoundError:
        return False  # the listener has not created the consumer yet


async def settled(peer: PullBasedJetStreamBroker) -> bool:
    """True once the consumer has no delivery waiting for an ack."""
    return (await consumer_of(peer)).num_ack_pending == 0
