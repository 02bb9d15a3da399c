"""arq scenarios on Redis; also the worker's module (``bench_arq.WorkerSettings``).

python bench_arq.py SCENARIO N
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import (
    REDIS_URL,
    bin_path,
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
from arq import create_pool
from arq.connections import RedisSettings

RUN = os.environ.get("BENCH_RUN", "bench-local")
QUEUE = os.environ.get("BENCH_QUEUE", f"{RUN}-q")
HERE = Path(__file__).resolve().parent
SETTINGS = RedisSettings.from_dsn(REDIS_URL)


async def noop(ctx: dict[str, Any], x: int) -> int:
    mark()
    return x


async def io(ctx: dict[str, Any], x: int) -> int:
    mark_start()
    await asyncio.sleep(0.1)
    mark()
    return x


class WorkerSettings:
    functions = [noop, io]  # noqa: RUF012
    redis_settings = SETTINGS
    queue_name = QUEUE
    keep_result = 600


async def _enqueue(pool: Any, name: str, i: int) -> Any:
    # The run id in the job id puts it in every job/result key, for the driver's cleanup.
    return await pool.enqueue_job(name, i, _job_id=f"{RUN}-{uuid.uuid4().hex}", _queue_name=QUEUE)


async def enqueue_seq(n: int) -> dict[str, Any]:
    pool = await create_pool(SETTINGS)
    start = time.perf_counter()
    for i in range(n):
        await _enqueue(pool, "noop", i)
    elapsed = time.perf_counter() - start
    await pool.aclose()
    return {"rate": n / elapsed}


async def _enqueue_many(pool: Any, name: str, n: int, concurrency: int = 200) -> None:
    for base in range(0, n, concurrency):
        await asyncio.gather(*(_enqueue(pool, name, i) for i in range(base, min(n, base + 200))))


async def enqueue_conc(n: int) -> dict[str, Any]:
    pool = await create_pool(SETTINGS)
    start = time.perf_counter()
    await _enqueue_many(pool, "noop", n)
    elapsed = time.perf_counter() - start
    await pool.aclose()
    return {"rate": n / elapsed}


def _worker(n: int, tag: str) -> tuple[Any, Path]:
    mark_path = Path(tempfile.mkdtemp(prefix=f"{RUN}-")) / f"{tag}.json"
    env = worker_env(mark_path, n, {"PYTHONPATH": str(HERE), "BENCH_QUEUE": QUEUE})
    return start_worker([bin_path("arq"), "bench_arq.WorkerSettings"], env, str(HERE)), mark_path


async def _drain(name: str, n: int) -> dict[str, Any]:
    pool = await create_pool(SETTINGS)
    await _enqueue_many(pool, name, n)
    await pool.aclose()
    proc, mark_path = _worker(n, name)
    try:
        times = wait_for_file(mark_path, 900, proc)
        rss = tree_rss_mb(proc.pid)
    finally:
        stop_worker(proc)
    return {"rate": (n - 1) / (times["last"] - times["first"]), "rss_after": rss["max"]}


async def drain(n: int) -> dict[str, Any]:
    return await _drain("noop", n)


async def iobound(n: int) -> dict[str, Any]:
    return await _drain("io", n)


async def latency(n: int) -> dict[str, Any]:
    proc, _ = _worker(10**9, "latency")
    pool = await create_pool(SETTINGS)
    try:
        for i in range(3):
            await (await _enqueue(pool, "noop", i)).result(timeout=60)
        await asyncio.sleep(0.5)
        idle = tree_rss_mb(proc.pid)
        samples = []
        for i in range(n):
            start = time.perf_counter()
            value = await (await _enqueue(pool, "noop", i)).result()
            samples.append(time.perf_counter() - start)
            assert value == i
    finally:
        await pool.aclose()
        stop_worker(proc)
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "rss_idle": idle["max"],
    }


SCENARIOS = {f.__name__: f for f in (enqueue_seq, enqueue_conc, drain, iobound, latency)}

if __name__ == "__main__":
    emit(asyncio.run(SCENARIOS[sys.argv[1]](int(sys.argv[2]))))
