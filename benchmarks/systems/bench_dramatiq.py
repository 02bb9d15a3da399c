"""Dramatiq scenarios on Redis (broker and Results backend); also the worker's module.

python bench_dramatiq.py SCENARIO N
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dramatiq
from _common import (
    REDIS_URL,
    bin_path,
    emit,
    mark,
    percentile,
    start_worker,
    stop_worker,
    tree_rss_mb,
    wait_for_file,
    worker_env,
)
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

RUN = os.environ.get("BENCH_RUN", "bench-local")
QUEUE = os.environ.get("BENCH_QUEUE", f"{RUN}-q")
HERE = Path(__file__).resolve().parent

# The run id in the namespaces puts it in every key, so the driver can delete them.
broker = RedisBroker(url=REDIS_URL, namespace=f"{RUN}-dramatiq")
broker.add_middleware(Results(backend=RedisBackend(url=REDIS_URL, namespace=f"{RUN}-results")))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, store_results=True, max_retries=0)
def noop(x: int) -> int:
    mark()
    return x


def enqueue_seq(n: int) -> dict[str, Any]:
    start = time.perf_counter()
    for i in range(n):
        noop.send(i)
    return {"rate": n / (time.perf_counter() - start)}


def _worker(n: int, tag: str) -> tuple[Any, Path]:
    mark_path = Path(tempfile.mkdtemp(prefix=f"{RUN}-")) / f"{tag}.json"
    env = worker_env(mark_path, n, {"PYTHONPATH": str(HERE), "BENCH_QUEUE": QUEUE})
    cmd = [bin_path("dramatiq"), "bench_dramatiq", "--processes", "1", "--queues", QUEUE]
    return start_worker(cmd, env, str(HERE)), mark_path


def drain(n: int) -> dict[str, Any]:
    for i in range(n):
        noop.send(i)
    proc, mark_path = _worker(n, "drain")
    try:
        times = wait_for_file(mark_path, 900, proc)
        rss = tree_rss_mb(proc.pid)
    finally:
        stop_worker(proc)
    return {"rate": (n - 1) / (times["last"] - times["first"]), "rss_after": rss["max"]}


def latency(n: int) -> dict[str, Any]:
    proc, _ = _worker(10**9, "latency")
    try:
        for i in range(3):
            noop.send(i).get_result(block=True, timeout=60_000)
        time.sleep(0.5)
        idle = tree_rss_mb(proc.pid)
        samples = []
        for i in range(n):
            start = time.perf_counter()
            value = noop.send(i).get_result(block=True)
            samples.append(time.perf_counter() - start)
            assert value == i
    finally:
        stop_worker(proc)
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "rss_idle": idle["max"],
    }


SCENARIOS = {f.__name__: f for f in (enqueue_seq, drain, latency)}

if __name__ == "__main__":
    emit(SCENARIOS[sys.argv[1]](int(sys.argv[2])))
