"""Scenarios for a Taskiq-API system: this project (our .venv) or upstream Taskiq (its own venv).

The same file serves both, because this project keeps Taskiq's public API: only the
interpreter differs. It is also the worker module (``bench_taskiq:broker``); the
environment picks the broker (BENCH_BROKER = redis | amqp | nats | kafka | sqlite) and the
queue. ``sqlite`` (this project only) keeps tasks and results in one file named after the run.

    python bench_taskiq.py SCENARIO N
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _common import (
    AMQP_URL,
    KAFKA_URL,
    NATS_URL,
    REDIS_URL,
    emit,
    mark,
    mark_start,
    percentile,
    start_worker,
    stop_worker,
    tree_rss_mb,
    wait_for_file,
    worker_env,
)
from taskiq import AsyncBroker, InMemoryBroker

RUN = os.environ.get("BENCH_RUN", "bench-local")
QUEUE = os.environ.get("BENCH_QUEUE", f"{RUN}-q")
KIND = os.environ.get("BENCH_BROKER", "redis")
HERE = Path(__file__).resolve().parent


def _task_id() -> str:
    # The run id in every task id puts it in every result key, so the driver can delete them.
    return f"{RUN}-{uuid.uuid4().hex}"


def _result_backend() -> Any:
    try:
        from taskiq_redis import RedisAsyncResultBackend
    except ImportError:  # this project's Redis result backend is not there yet
        return None
    return RedisAsyncResultBackend(REDIS_URL, result_ex_time=600)


def _redis_broker() -> AsyncBroker:
    from taskiq_redis import RedisStreamBroker

    # consumer_id="0": tasks queued before the worker's group exists are still read.
    # BENCH_XREAD_COUNT is for experiments only (README, Findings); runs use the default.
    extra = {"xread_count": int(os.environ["BENCH_XREAD_COUNT"])} if _XREAD else {}
    return RedisStreamBroker(REDIS_URL, queue_name=QUEUE, consumer_id="0", **extra)


_XREAD = bool(os.environ.get("BENCH_XREAD_COUNT"))


def _amqp_broker() -> AsyncBroker:
    from taskiq_aio_pika import AioPikaBroker

    return AioPikaBroker(AMQP_URL, exchange_name=QUEUE, queue_name=QUEUE)


def _nats_broker() -> AsyncBroker:
    from taskiq_nats import PullBasedJetStreamBroker

    return PullBasedJetStreamBroker(
        [NATS_URL], subject=f"{QUEUE}.tasks", stream_name=QUEUE, durable=QUEUE
    )


def _kafka_broker() -> AsyncBroker:
    from taskiq_aio_kafka import AioKafkaBroker

    made = AioKafkaBroker(bootstrap_servers=KAFKA_URL, kafka_topic=QUEUE)
    # earliest: the tasks are queued before the worker's group exists (both systems).
    made.configure_consumer(group_id=QUEUE, auto_offset_reset="earliest")
    return made


#: The SQLite scenarios' file: the run id names it, so the driver can delete it.
SQLITE_FILE = os.path.join(tempfile.gettempdir(), f"{RUN}.sqlite3")


def _sqlite_broker() -> AsyncBroker:
    from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend

    return SQLiteBroker(SQLITE_FILE, queue_name=QUEUE).with_result_backend(
        SQLiteResultBackend(SQLITE_FILE, result_ex_time=600)
    )


def _broker() -> AsyncBroker:
    makers = {"redis": _redis_broker, "amqp": _amqp_broker, "nats": _nats_broker}
    makers["kafka"] = _kafka_broker
    makers["sqlite"] = _sqlite_broker
    made = makers[KIND]()
    made = made.with_id_generator(_task_id)
    if os.environ.get("BENCH_TASK_STATES") == "off" and hasattr(made, "with_task_states"):
        made = made.with_task_states(False)  # this project only; upstream has no states
    if os.environ.get("BENCH_EVENTS") == "off" and hasattr(made, "with_events"):
        made = made.with_events(False)  # this project only; upstream has no events
    backend = None if KIND == "sqlite" else _result_backend()
    return made.with_result_backend(backend) if backend is not None else made


broker = _broker()


@broker.task(task_name="noop")
async def noop(x: int) -> int:
    mark()
    return x


@broker.task(task_name="io")
async def io(x: int) -> int:
    mark_start()
    await asyncio.sleep(0.1)
    mark()
    return x


# ---- in-process (InMemoryBroker) ---------------------------------------------------------


async def inproc_seq(n: int) -> dict[str, Any]:
    """Sequential kiq + wait_result; await_inplace so the result is there when kiq returns."""
    mem = InMemoryBroker(await_inplace=True, max_stored_results=-1)
    task = mem.register_task(_noop_plain, task_name="noop")
    await mem.startup()
    start = time.perf_counter()
    for i in range(n):
        handle = await task.kiq(i)
        await handle.wait_result()
    elapsed = time.perf_counter() - start
    await mem.shutdown()
    return {"rate": n / elapsed}


async def inproc_bulk(n: int) -> dict[str, Any]:
    """kiq n tasks, wait for all of them, read every result."""
    mem = InMemoryBroker(max_stored_results=-1)
    task = mem.register_task(_noop_plain, task_name="noop")
    await mem.startup()
    start = time.perf_counter()
    handles = [await task.kiq(i) for i in range(n)]
    await mem.wait_all()
    results = [await h.get_result() for h in handles]
    elapsed = time.perf_counter() - start
    await mem.shutdown()
    assert [r.return_value for r in results] == list(range(n))
    return {"rate": n / elapsed}


async def _noop_plain(x: int) -> int:
    return x


# ---- Redis / AMQP / NATS ------------------------------------------------------------------


async def enqueue_seq(n: int) -> dict[str, Any]:
    """Sequential awaited kiq to the broker (no worker)."""
    await broker.startup()
    start = time.perf_counter()
    for i in range(n):
        await noop.kiq(i)
    elapsed = time.perf_counter() - start
    await broker.shutdown()
    return {"rate": n / elapsed}


async def _kiq_many(task: Any, n: int, concurrency: int = 200) -> None:
    for base in range(0, n, concurrency):
        await asyncio.gather(*(task.kiq(i) for i in range(base, min(n, base + concurrency))))


async def enqueue_conc(n: int) -> dict[str, Any]:
    """kiq n tasks, 200 at a time with asyncio.gather."""
    await broker.startup()
    start = time.perf_counter()
    await _kiq_many(noop, n)
    elapsed = time.perf_counter() - start
    await broker.shutdown()
    return {"rate": n / elapsed}


def _worker(n: int, tag: str) -> tuple[Any, Path]:
    mark_path = Path(tempfile.mkdtemp(prefix=f"{RUN}-")) / f"{tag}.json"
    env = worker_env(mark_path, n, {"PYTHONPATH": str(HERE), "BENCH_QUEUE": QUEUE})
    cmd = [sys.executable, "-m", "taskiq", "worker", "bench_taskiq:broker", "--workers", "1"]
    heartbeat = os.environ.get("BENCH_HEARTBEAT")
    if heartbeat is not None and hasattr(broker, "with_events"):  # this project only
        cmd += ["--heartbeat-interval", heartbeat]
    return start_worker(cmd, env, str(HERE)), mark_path


async def _drain(task: Any, n: int, tag: str) -> dict[str, Any]:
    await broker.startup()
    await _kiq_many(task, n)
    await broker.shutdown()
    async with _events_watcher() as seen:
        proc, mark_path = _worker(n, tag)
        try:
            times = await asyncio.to_thread(wait_for_file, mark_path, 600, proc)
            rss = tree_rss_mb(proc.pid)
        finally:
            stop_worker(proc)
    result = {"rate": (n - 1) / (times["last"] - times["first"]), "rss_after": rss["max"]}
    if seen:
        result["events"] = seen[0]
    return result


@contextlib.asynccontextmanager
async def _events_watcher() -> AsyncIterator[list[int]]:
    """With BENCH_EVENTS=watched (this project only), subscribe to the events during a drain.

    Yields a list that holds the count of events seen once the block ends (empty otherwise).
    """
    seen: list[int] = []
    if os.environ.get("BENCH_EVENTS") != "watched" or not hasattr(broker, "with_events"):
        yield seen
        return
    from taskiq import events_of

    await broker.startup()
    count = 0

    async def consume(stream: Any) -> None:
        nonlocal count
        async for _ in stream:
            count += 1

    async with await events_of(broker).subscribe() as stream:
        reader = asyncio.ensure_future(consume(stream))
        try:
            yield seen
        finally:
            reader.cancel()
    await broker.shutdown()
    seen.append(count)


async def drain(n: int) -> dict[str, Any]:
    """n no-op tasks queued first, then one worker process drains them."""
    return await _drain(noop, n, "drain")


async def iobound(n: int) -> dict[str, Any]:
    """n tasks each sleeping 0.1 s, queued first, one worker process."""
    return await _drain(io, n, "io")


async def latency(n: int) -> dict[str, Any]:
    """kiq -> wait_result() with default arguments, one at a time, worker idle otherwise."""
    pushed = {"RedisAsyncResultBackend", "SQLiteResultBackend"}
    if broker.result_backend.__class__.__name__ not in pushed:
        raise SystemExit("no RedisAsyncResultBackend in this system's taskiq_redis")
    proc, _ = _worker(10**9, "latency")
    await broker.startup()
    try:
        for i in range(3):  # the worker is up and has run a task
            await (await noop.kiq(i)).wait_result(timeout=60)
        await asyncio.sleep(0.5)
        idle = tree_rss_mb(proc.pid)
        samples = []
        for i in range(n):
            start = time.perf_counter()
            result = await (await noop.kiq(i)).wait_result()
            samples.append(time.perf_counter() - start)
            assert result.return_value == i
    finally:
        await broker.shutdown()
        stop_worker(proc)
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "rss_idle": idle["max"],
    }


SCENARIOS = {
    f.__name__: f
    for f in (inproc_seq, inproc_bulk, enqueue_seq, enqueue_conc, drain, iobound, latency)
}

if __name__ == "__main__":
    scenario, count = sys.argv[1], int(sys.argv[2])
    emit(asyncio.run(SCENARIOS[scenario](count)))
