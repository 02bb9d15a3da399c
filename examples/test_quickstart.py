"""The README's quick start, run as written: a worker, a client and a scheduler on Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

HERE = Path(__file__).resolve().parent / "quickstart"
DEADLINE = 60.0


@pytest.fixture
def queue(require_service: Callable[[str, str, int], None]) -> Iterator[str]:
    require_service("redis", "127.0.0.1", 6379)
    name = f"quickstart-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(client.scan_iter(match=f"*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _start(args: list[str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QUICKSTART_QUEUE": queue, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "taskiq", *args],
            cwd=HERE,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def _wait_for_text(log: Path, text: str, count: int = 1) -> None:
    end = time.monotonic() + DEADLINE
    while log.read_text(errors="replace").count(text) < count:
        assert time.monotonic() < end, f"{text!r} not seen; log:\n{log.read_text()}"
        time.sleep(0.1)


def test_worker_client_and_scheduler_from_the_readme(queue: str, tmp_path: Path) -> None:
    worker_log, scheduler_log = tmp_path / "worker.log", tmp_path / "scheduler.log"
    worker = _start(["worker", "app:broker"], queue, worker_log)
    scheduler = _start(["scheduler", "app:scheduler"], queue, scheduler_log)
    try:
        sent = subprocess.run(
            [sys.executable, "send.py"],
            cwd=HERE,
            env={**os.environ, "QUICKSTART_QUEUE": queue},
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=True,
        )
        assert sent.stdout.strip() == "2 + 3 = 5"
        _wait_for_text(worker_log, "heartbeat: every two seconds", count=2)
        _status_shows_the_queue_and_both_workers(queue)
    finally:
        scheduler_code = _stop(scheduler)
        worker_code = _stop(worker)
    assert (worker_code, scheduler_code) == (0, 0)


def _status_shows_the_queue_and_both_workers(queue: str) -> None:
    """The README's `taskiq status app:broker`, as an operator runs it beside the worker."""
    env = {**os.environ, "QUICKSTART_QUEUE": queue}
    end = time.monotonic() + DEADLINE
    while True:
        shown = subprocess.run(
            [sys.executable, "-m", "taskiq", "status", "app:broker", "--json"],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        if len(status.get("workers", [])) == 2:
            break
        assert time.monotonic() < end, f"two workers not listed: {shown.stdout}"
        time.sleep(0.5)
    assert [entry["queue"] for entry in status["queues"]] == [queue]


def _readme_python_blocks() -> list[str]:
    text = (HERE.parents[1] / "README.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def test_readme_in_memory_example_prints_the_result() -> None:
    in_memory = next(block for block in _readme_python_blocks() if "InMemoryBroker" in block)
    completed = subprocess.run(
        [sys.executable, "-c", in_memory],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=True,
    )
    assert completed.stdout.strip() == "8"


def test_readme_redis_example_is_the_quickstart_app() -> None:
    """The README shows app.py without its environment knobs; the code must agree."""
    redis_block = next(block for block in _readme_python_blocks() if "RedisBroker" in block)
    app = (HERE / "app.py").read_text()
    for line in redis_block.splitlines():
        if line.startswith(("@broker.task", "async def", "    return", "scheduler =", "from ")):
            assert line in app, f"README line not in app.py: {line!r}"
