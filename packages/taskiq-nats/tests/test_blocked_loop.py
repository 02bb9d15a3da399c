"""A task that blocks the event loop runs once: heartbeats go on from a thread.

``time.sleep`` inside ``async def`` stops every ``in_progress`` heartbeat on the
loop; taskiq_nats.blocked_loop sends them from a helper thread instead, and the
core watchdog logs a WARNING naming the task. ack_wait is 2 s, the task blocks 8.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from taskiq.kicker import AsyncKicker
from taskiq_nats import JetStreamBroker

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
