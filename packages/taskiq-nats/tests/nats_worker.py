"""A tiny worker process for the crash and restart tests.

Run as ``python nats_worker.py '<json config>'``; it logs ``start``/``done``
lines (with its pid) to the file named in the config, so a test can see which
process ran which task.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys
from typing import Any

from taskiq import Receiver
from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend


def build(config: dict[str, Any]) -> JetStreamBroker:
    """The broker and its one task, as both the worker and the test's client use them."""
    broker = JetStreamBroker(
        config["url"],
        queue=config["queue"],
        subject=config["subject"],
        stream_name=config["stream"],
        ack_wait=config.get("ack_wait", 30.0),
    )
    if config.get("bucket"):
        broker = broker.with_result_backend(
            NATSKeyValueResultBackend(config["url"], bucket_name=config["bucket"]),
        )
    log = pathlib.Path(config["log"])

    @broker.task(task_name="record")
    async def record(label: str, seconds: float = 0.0) -> str:
        note(log, f"start {label} {os.getpid()}")
        await asyncio.sleep(seconds)
        note(log, f"done {label} {os.getpid()}")
        return label

    return broker


def note(log: pathlib.Path, line: str) -> None:
    """Append one line (tiny and local: fine to do synchronously)."""
    with log.open("a") as out:
        out.write(line + "\n")


async def main() -> None:
    broker = build(json.loads(sys.argv[1]))
    broker.is_worker_process = True
    await broker.startup()
    await Receiver(broker).listen(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main())
