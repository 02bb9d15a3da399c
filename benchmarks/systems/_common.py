"""Helpers shared by every system's scenario script (stdlib only: each runs in its own venv).

A scenario script prints exactly one JSON object on its last stdout line. Worker-based
scenarios start the system's own worker command as a subprocess of the script, and learn
the drain time from the task itself: the no-op task calls `mark()`, which records the wall
clock of the first and of the N-th call in the worker process and writes them to a file.
That keeps worker start-up time out of every rate, identically for every system.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
KAFKA_URL = "127.0.0.1:9092"

_state = {"count": 0, "first": 0.0, "started": 0.0}


def env_int(name: str, default: int = 0) -> int:
    """An integer the driver passes to scripts and their workers through the environment."""
    return int(os.environ.get(name, default))


def mark_start() -> None:
    """For tasks that wait (I/O-bound): the clock starts when the first one starts."""
    if not _state["started"]:
        _state["started"] = time.time()


def mark() -> None:
    """Count one executed task; at the N-th (BENCH_N), write first/last timestamps.

    "first" is when the first task started (`mark_start`) or else finished.
    """
    now = time.time()
    _state["count"] += 1
    if _state["count"] == 1:
        _state["first"] = _state["started"] or now
    if _state["count"] == env_int("BENCH_N", -1):
        path = Path(os.environ["BENCH_MARK"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"first": _state["first"], "last": now}))
        tmp.rename(path)


def emit(result: dict[str, Any]) -> None:
    """The one line the driver parses."""
    print(json.dumps(result), flush=True)


def wait_for_file(path: Path, deadline_s: float, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Wait for the mark file; fail fast if the worker died."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if path.exists():
            return dict(json.loads(path.read_text()))
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode} before finishing")
        time.sleep(0.02)
    raise TimeoutError(f"worker did not finish within {deadline_s} s")


def start_worker(cmd: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """Start a worker in its own process group (so the whole tree can be stopped).

    With BENCH_PROFILE set (benchmarks/profile.py), the worker runs under py-spy.
    """
    if os.environ.get("BENCH_PROFILE"):
        spy = [os.environ["BENCH_PYSPY"], "record", "--format", "raw", "--subprocesses"]
        cmd = [*spy, "-r", "200", "-o", os.environ["BENCH_PROFILE"], "--", *cmd]
    log = open(Path(env["BENCH_MARK"]).with_suffix(".log"), "wb")  # noqa: SIM115
    return subprocess.Popen(
        cmd, env={**os.environ, **env}, cwd=cwd, stdout=log, stderr=log, start_new_session=True
    )


def stop_worker(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGINT then SIGTERM then SIGKILL the worker's process group."""
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of the largest process in the tree (the one running tasks) and of the whole tree."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    sizes = [_rss_mb(p) for p in pids]
    return {"max": max(sizes), "total": sum(sizes)}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; q in 0..100."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def bin_path(name: str) -> str:
    """A console script of the interpreter's own venv (celery, dramatiq, arq)."""
    return str(Path(sys.executable).parent / name)


def worker_env(mark_path: Path, n: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a worker: where to write the mark file, after how many tasks."""
    return {"BENCH_MARK": str(mark_path), "BENCH_N": str(n), **(extra or {})}
