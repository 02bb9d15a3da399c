"""Delete everything one run created on the shared servers, and nothing else.

Every key, queue, exchange and stream a run creates has the run id in its name (queue
names, task ids, namespaces), so cleanup matches on it. Never FLUSHALL: others share
these servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import subprocess
import tempfile

import redis

REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
KAFKA_URL = "127.0.0.1:9092"


def cleanup_redis(run_id: str) -> int:
    """Delete keys whose name contains the run id; returns how many."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{run_id}*", count=5000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        client.close()


def _rabbit_names(kind: str, run_id: str) -> list[str]:
    done = subprocess.run(
        ["rabbitmqctl", "-q", f"list_{kind}", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [n for n in done.stdout.split() if run_id in n]


async def _cleanup_amqp(run_id: str) -> None:
    import aio_pika

    queues, exchanges = _rabbit_names("queues", run_id), _rabbit_names("exchanges", run_id)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


async def _cleanup_nats(run_id: str) -> None:
    import nats

    client = await nats.connect(NATS_URL)
    try:
        jsm = client.jsm()
        for info in await jsm.streams_info():
            if run_id in info.config.name:
                await jsm.delete_stream(info.config.name)
    finally:
        await client.close()


async def _cleanup_kafka(run_id: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA_URL)
    await admin.start()
    try:
        doomed = [topic for topic in await admin.list_topics() if run_id in topic]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def _cleanup_sqlite(run_id: str) -> None:
    """The run's file and its WAL (see ``bench_taskiq.SQLITE_FILE``)."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{run_id}.sqlite3*")):
        os.remove(path)


def cleanup_run(run_id: str, broker: str) -> None:
    """Best effort: a failed cleanup must not hide the run's own result."""
    with contextlib.suppress(Exception):
        cleanup_redis(run_id)
    with contextlib.suppress(Exception):
        if broker == "amqp":
            asyncio.run(_cleanup_amqp(run_id))
        elif broker == "nats":
            asyncio.run(_cleanup_nats(run_id))
        elif broker == "kafka":
            asyncio.run(_cleanup_kafka(run_id))
        elif broker == "sqlite":
            _cleanup_sqlite(run_id)
