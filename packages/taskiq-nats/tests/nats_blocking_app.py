"""An application for ``taskiq worker`` in the blocked-loop test (configured by env vars).

TQ_NATS_URL, TQ_STREAM, TQ_SUBJECT, TQ_QUEUE, TQ_ACK_WAIT and TQ_LOG (a file
that receives one ``start <label>`` / ``done <label>`` line per run).
"""

from __future__ import annotations

import os
import pathlib
import time

from taskiq_nats import JetStreamBroker

broker = JetStreamBroker(
    os.environ.get("TQ_NATS_URL", "nats://127.0.0.1:4222"),
    queue=os.environ.get("TQ_QUEUE"),
    subject=os.environ.get("TQ_SUBJECT", "taskiq_tasks"),
    stream_name=os.environ.get("TQ_STREAM", "taskiq_jetstream"),
    ack_wait=float(os.environ.get("TQ_ACK_WAIT", "30")),
)
LOG = pathlib.Path(os.environ.get("TQ_LOG", "runs.log"))


def _note(line: str) -> None:
    with LOG.open("a") as out:
        out.write(f"{line} {os.getpid()}\n")


@broker.task(task_name="block_loop")
async def block_loop(label: str, seconds: float) -> str:
    """Block the whole event loop (a bug in user code the worker must survive)."""
    _note(f"start {label}")
    time.sleep(seconds)  # noqa: ASYNC251 - blocking on purpose
    _note(f"done {label}")
    return label


@broker.task(task_name="record")
async def record(label: str) -> str:
    """A short task: prefetched behind the blocking one, it must not run twice either."""
    _note(f"start {label}")
    _note(f"done {label}")
    return label
