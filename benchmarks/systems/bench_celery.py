"""Celery scenarios on Redis (broker and result backend); also the worker's app module.

python bench_celery.py SCENARIO N
"""

from __future__ import annotations

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
    percentile,
    start_worker,
    stop_worker,
    tree_rss_mb,
    wait_for_file,
    worker_env,
)
from celery import Celery

RUN = os.environ.get("BENCH_RUN", "bench-local")
QUEUE = os.environ.get("BENCH_QUEUE", f"{RUN}-q")
HERE = Path(__file__).resolve().parent

app = Celery("bench_celery", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    result_expires=600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop")
def noop(x: int) -> int:
    mark()
    return x


def _send(i: int) -> Any:
    return noop.apply_async((i,), task_id=f"{RUN}-{uuid.uuid4().hex}")


def enqueue_seq(n: int) -> dict[str, Any]:
    start = time.perf_counter()
    for i in range(n):
        _send(i)
    return {"rate": n / (time.perf_counter() - start)}


def _worker(n: int, tag: str) -> tuple[Any, Path]:
    mark_path = Path(tempfile.mkdtemp(prefix=f"{RUN}-")) / f"{tag}.json"
    env = worker_env(mark_path, n, {"PYTHONPATH": str(HERE), "BENCH_QUEUE": QUEUE})
    cmd = [
        bin_path("celery"),
        "-A",
        "bench_celery",
        "worker",
        "-P",
        "solo",
        "-c",
        "1",
        "-Q",
        QUEUE,
        "-l",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return start_worker(cmd, env, str(HERE)), mark_path


def drain(n: int) -> dict[str, Any]:
    for i in range(n):
        _send(i)
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
            _send(i).get(timeout=60)
        time.sleep(0.5)
        idle = tree_rss_mb(proc.pid)
        samples = []
        for i in range(n):
            start = time.perf_counter()
            value = _send(i).get()
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
