"""Dropped connections and killed workers: no task is lost.

Workers are subprocesses (tests/worker_app.py) whose tasks record each run in a
Redis list. Connections are closed with ``rabbitmqctl close_connection`` on
connections this test named, never anyone else's.
"""

from __future__ import annotations

from collections import Counter

import pytest
from pika_helpers import (
    BrokerFactory,
    Names,
    RecordList,
    WorkerStarter,
    close_connections,
    connections_named,
    queue_stats,
    wait_for,
)
from taskiq.kicker import AsyncKicker

pytestmark = pytest.mark.slow


async def kick_records(broker: object, values: list[str]) -> None:
    for value in values:
        await AsyncKicker("record", broker, {}).kiq(value)  # type: ignore[arg-type]


async def finished(records: RecordList, values: list[str]) -> bool:
    done = set(await records.values())
    return all(value in done for value in values)


async def test_worker_and_client_reconnect_after_the_server_closes_them(
    make_broker: BrokerFactory,
    names: Names,
    start_worker: WorkerStarter,
    redis_list: RecordList,
) -> None:
    client = await make_broker(qos=2)
    worker = await start_worker("a", broker={"qos": 2})
    first = [f"before-{n}" for n in range(6)]
    await kick_records(client, first)
    await wait_for(lambda: _ran_any(redis_list, first), "the worker to start on the tasks")

    assert close_connections(worker.connection_name) == 1
    assert close_connections(f"{names.prefix}-client") == 1
    second = [f"after-{n}" for n in range(6)]
    await kick_records(client, second)  # the client reconnects by itself

    await wait_for(lambda: finished(redis_list, first + second), "every task to complete")
    await wait_for(lambda: bool(connections_named(worker.connection_name)), "worker reconnect")
    counts = Counter(v for v in await redis_list.values() if not v.startswith(("by:", "start")))
    assert set(counts) == set(first + second)
    assert worker.process.poll() is None, worker.output()
    await wait_for(lambda: _queue_drained(names.queue), "no message left behind")


async def test_sigkill_redelivers_unacked_messages_to_a_live_worker(
    make_broker: BrokerFactory,
    names: Names,
    start_worker: WorkerStarter,
    redis_list: RecordList,
) -> None:
    client = await make_broker()
    doomed = await start_worker("doomed", broker={"qos": 5}, task_sleep=300)
    values = [f"task-{n}" for n in range(5)]
    await kick_records(client, values)
    await wait_for(
        lambda: queue_stats(names.queue).get("messages_unacknowledged") == 5,
        "the slow worker to hold every task unacknowledged",
    )
    survivor = await start_worker("survivor", broker={"qos": 5})

    doomed.kill()
    await wait_for(lambda: finished(redis_list, values), "the survivor to run every task")
    records = await redis_list.values()
    assert {f"by:{survivor.connection_name}:{v}" for v in values} <= set(records)
    assert not any(r.startswith(f"by:{doomed.connection_name}") for r in records)


async def _ran_any(records: RecordList, values: list[str]) -> bool:
    return bool(set(await records.values()) & {f"started:{v}" for v in values})


def _queue_drained(name: str) -> bool:
    stats = queue_stats(name)
    return stats["messages_ready"] == 0 and stats["messages_unacknowledged"] == 0


async def test_when_received_acks_before_running_so_a_killed_task_is_not_rerun(
    make_broker: BrokerFactory,
    names: Names,
    start_worker: WorkerStarter,
    redis_list: RecordList,
) -> None:
    client = await make_broker()
    doomed = await start_worker(
        "at-most-once", broker={"qos": 5}, task_sleep=300, ack_type="when_received"
    )
    values = [f"once-{n}" for n in range(3)]
    await kick_records(client, values)
    await wait_for(lambda: _started_all(redis_list, values), "the worker to start every task")
    stats = queue_stats(names.queue)
    assert (stats["messages_ready"], stats["messages_unacknowledged"]) == (0, 0)

    doomed.kill()
    survivor = await start_worker("survivor", broker={"qos": 5})
    marker = "after-kill"
    await kick_records(client, [marker])
    await wait_for(lambda: finished(redis_list, [marker]), "the survivor to be working")
    await wait_for(lambda: _queue_drained(names.queue), "nothing left to deliver")
    records = await redis_list.values()
    assert records.count("started:once-0") == 1
    assert not any(r.startswith(f"by:{survivor.connection_name}:once") for r in records)


async def _started_all(records: RecordList, values: list[str]) -> bool:
    return {f"started:{v}" for v in values} <= set(await records.values())
