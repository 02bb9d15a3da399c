"""Live workers on Redis: the contract suite, `taskiq workers` against a real
``taskiq worker --workers 2``, and the ``--health-port`` endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from taskiq import AsyncKicker, WorkerId, workers_of
from taskiq.testing.snippets import python_blocks, run_fragment
from taskiq.testing.worker_registry_contract import WorkerRegistryContract, record
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

from conftest import RedisServer, free_port, require_redis_server

pytestmark = pytest.mark.slow

#: The application the worker runs: one slow task, results and heartbeats on Redis.
APP = """
import asyncio

from taskiq_redis import RedisAsyncResultBackend, RedisBroker

broker = RedisBroker({url!r}, queue_name={queue!r}, xread_block=200).with_result_backend(
    RedisAsyncResultBackend({url!r}, prefix_str={queue!r})
)


@broker.task(task_name="slow")
async def slow(seconds: float) -> None:
    await asyncio.sleep(seconds)
"""


class TestRedisWorkers(WorkerRegistryContract):
    @pytest.fixture
    def broker(self, results_client: RedisBroker) -> RedisBroker:
        return results_client


def wait_until(probe: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.1)


class App:
    """The app module in a temporary directory and the commands run against it."""

    def __init__(self, directory: Path, url: str, queue: str) -> None:
        self.directory = directory
        self.queue = queue
        (directory / "live_app.py").write_text(APP.format(url=url, queue=queue))
        self.workers: list[subprocess.Popen[bytes]] = []

    def worker(self, *flags: str) -> subprocess.Popen[bytes]:
        """Start ``taskiq worker live_app:broker`` with ``flags``."""
        with (self.directory / f"worker-{len(self.workers)}.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "taskiq",
                    "worker",
                    "live_app:broker",
                    "--app-dir",
                    str(self.directory),
                    *flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process

    def taskiq(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``taskiq <command> live_app:broker <args>`` to the end."""
        command, *rest = args
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "taskiq",
                command,
                "live_app:broker",
                "--app-dir",
                str(self.directory),
                *rest,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def listed(self) -> list[dict[str, Any]]:
        """``taskiq workers --json``, parsed."""
        result = self.taskiq("workers", "--json")
        assert result.returncode == 0, result.stderr
        workers: list[dict[str, Any]] = json.loads(result.stdout)
        return workers

    def stop_all(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


@pytest.fixture
def app(tmp_path: Path, redis_url: str, queue_name: str) -> Iterator[App]:
    application = App(tmp_path, redis_url, queue_name)
    yield application
    application.stop_all()


def probe(port: int, path: str) -> tuple[int, dict[str, Any]] | None:
    """(status, body) of ``GET http://127.0.0.1:<port><path>``; None if nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


def status(port: int, path: str) -> int:
    """The HTTP status of a probe (0: nothing answers)."""
    answer = probe(port, path)
    return 0 if answer is None else answer[0]


def by_index(workers: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {worker["id"]["index"]: worker for worker in workers}


async def kiq_slow(url: str, queue: str, seconds: float) -> str:
    broker = RedisBroker(url, queue_name=queue)
    await broker.startup()
    try:
        task = await AsyncKicker("slow", broker, {}).kiq(seconds)
        return task.task_id
    finally:
        await broker.shutdown()


@pytest.mark.timeout(240)  # seven `taskiq` commands, each a fresh interpreter
def test_workers_lists_both_children_their_tasks_and_drops_a_killed_one(
    app: App, redis_url: str, queue_name: str
) -> None:
    health = free_port()
    app.worker(
        "--workers",
        "2",
        "--heartbeat-interval",
        "0.5",
        "--health-port",
        str(health),
        "--wait-tasks-timeout",
        "1",
    )
    both = wait_until(lambda: len(app.listed()) == 2 and app.listed(), what="two workers listed")
    assert sorted(by_index(both)) == [0, 1]
    for worker in both:
        assert worker["queues"] == [queue_name]
        assert worker["concurrency"] == 100
        assert worker["expires_in"] == pytest.approx(1.5)
    wait_until(lambda: status(health, "/readyz") == 200, what="/readyz 200")
    assert status(health, "/livez") == 200

    task_id = asyncio.run(kiq_slow(redis_url, queue_name, 120))

    def runner() -> dict[str, Any] | None:
        for worker in app.listed():
            if [task["task_id"] for task in worker["running"]] == [task_id]:
                return worker
        return None

    busy = wait_until(runner, what="the slow task shown as running")
    assert busy["running"][0]["task_name"] == "slow"
    table = app.taskiq("workers")
    assert table.returncode == 0, table.stderr
    assert "Workers (2)" in table.stdout
    assert f"runs slow [{task_id}]" in table.stdout
    at_a_glance = app.taskiq("status", "--json")
    assert at_a_glance.returncode == 0, at_a_glance.stderr
    glance = json.loads(at_a_glance.stdout)
    assert [queue["queue"] for queue in glance["queues"]] == [queue_name]
    assert sorted(worker["id"]["index"] for worker in glance["workers"]) == [0, 1]
    assert "Workers (2)" in app.taskiq("status").stdout

    killed = busy["id"]["pid"]
    os.kill(killed, signal.SIGKILL)
    started = time.monotonic()

    def replaced() -> bool:
        workers = app.listed()
        pids = {worker["id"]["pid"] for worker in workers}
        return killed not in pids and len(workers) == 2

    # Its record expires after 1.5 s; the replacement must import the app and connect
    # first, which takes seconds on a loaded machine.
    wait_until(replaced, timeout=45, what="the killed child dropped and its replacement listed")
    assert time.monotonic() - started < 45
    assert sorted(by_index(app.listed())) == [0, 1]
    wait_until(lambda: status(health, "/readyz") == 200, what="/readyz 200 again")


def test_a_gracefully_stopped_worker_removes_its_record_at_once(app: App) -> None:
    # A 30 s interval: records would live 90 s, so only the removal at stop explains
    # their absence.
    worker = app.worker("--workers", "1", "--heartbeat-interval", "30")
    (listed,) = wait_until(app.listed, what="the worker listed")
    assert listed["expires_in"] == pytest.approx(90)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert app.listed() == []


def test_no_heartbeat_with_interval_zero(app: App) -> None:
    health = free_port()
    app.worker("--workers", "1", "--heartbeat-interval", "0", "--health-port", str(health))
    wait_until(lambda: status(health, "/readyz") == 200, what="ready")
    assert app.listed() == []


def test_readyz_is_503_until_the_broker_can_be_reached(tmp_path: Path) -> None:
    require_redis_server()
    server = RedisServer(tmp_path)  # its port is closed until the server starts
    queue = f"tq-test-{uuid.uuid4().hex[:12]}"
    app = App(tmp_path, server.url, queue)
    health = free_port()
    try:
        app.worker("--workers", "2", "--health-port", str(health))
        wait_until(lambda: status(health, "/livez") == 200, what="/livez 200")
        code, body = probe(health, "/readyz") or (0, {})
        assert code == 503
        assert body["status"] == "failing"
        assert not any(child["ready"] for child in body["children"])
        server.start()
        wait_until(
            lambda: status(health, "/readyz") == 200,
            timeout=60,
            what="/readyz 200 once Redis listens",
        )
    finally:
        app.stop_all()
        server.stop()


def test_a_taken_health_port_stops_the_worker_with_one_line(app: App) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = app.worker("--health-port", str(port))
        assert worker.wait(timeout=60) == 1
    log = (app.directory / "worker-0.log").read_text()
    assert f"Cannot serve the health endpoints on 127.0.0.1:{port}" in log
    assert "Traceback" not in log


def test_workers_of_the_redis_backend_is_a_registry(redis_url: str) -> None:
    broker = RedisBroker(redis_url).with_result_backend(RedisAsyncResultBackend(redis_url))
    assert workers_of(broker).__class__.__name__ == "RedisWorkerRegistry"
    assert WorkerId("h", 1, 0).key == "h-1-0"


DOCS = Path(__file__).parents[3] / "docs" / "operations.md"
MARKER = "await workers_of(broker).list()"


async def test_the_documented_fragment_lists_a_worker(redis_url: str, queue_name: str) -> None:
    (fragment,) = python_blocks(DOCS, MARKER)
    backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
    broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
    await broker.startup()
    try:
        registry = workers_of(broker)
        await registry.publish(record("docs-host", done=4))
        printed = await run_fragment(fragment, str(DOCS), broker=broker)
        await registry.remove(WorkerId("docs-host", 4242, 0))
    finally:
        await broker.shutdown()
    assert "docs-host:4242 #0: contract:slow, 4 done" in printed
