"""The application the `taskiq worker` tests run: one task that logs start and done.

Configured by the ``KAFKA_TEST_CONFIG`` environment variable (JSON: url, topic,
group, log, partitions); each line of the log names the label and the pid, so
a test can see which process ran which task and how often.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib

from taskiq_aio_kafka import AioKafkaBroker, Topic, TopicConfig

CONFIG = json.loads(os.environ["KAFKA_TEST_CONFIG"])
LOG = pathlib.Path(CONFIG["log"])

broker = AioKafkaBroker(
    bootstrap_servers=CONFIG["url"],
    kafka_topic=Topic(CONFIG["topic"], TopicConfig(num_partitions=CONFIG.get("partitions", 1))),
    revoke_timeout=CONFIG.get("revoke_timeout", 30.0),
)
broker.configure_consumer(
    group_id=CONFIG["group"],
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
)


def note(line: str) -> None:
    """Append one line (tiny and local: fine to do synchronously)."""
    with LOG.open("a") as out:
        out.write(line + "\n")


@broker.task(task_name="record")
async def record(label: str, seconds: float = 0.0) -> str:
    note(f"start {label} {os.getpid()}")
    await asyncio.sleep(seconds)
    note(f"done {label} {os.getpid()}")
    return label
