"""Crash and restart recovery with real processes.

SIGKILLed workers lose nothing (their task is redelivered after ack_wait to a
live worker); workers and clients reconnect after the NATS server restarts
(a private nats-server on a free port with its own store, never the shared one).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

HERE = pathlib.Path(__file__).parent
WORKER = HERE / "nats_worker.py"

pytestmark = pytest.mark.slow


def load_worker_module() -> Any:
    spec = importlib.util.spec_from_file_location("nats_worker", WORKER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


async def until(condition: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


class NatsServer:
    """A private ``nats-server -js`` on a free port, restartable with the same store."""

    def __init__(self, store: pathlib.Path) -> None:
        self.port = free_port()
        self.store = store
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        command = ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.spawn()
        await until(lambda: answers(self.port), 20, "private nats-server accepting connections")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture
def nats_server_binary() -> str:
    binary = shutil.which("nats-server")
    if binary is None:
        reason = "nats-server is not installed; the restart tests start their own server"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture
async def private_server(nats_server_binary: str, tmp_path: pathlib.Path) -> AsyncIterator[Any]:
    server = NatsServer(tmp_path / "jetstream")
    await server.start()
    yield server
    server.stop()


@contextlib.contextmanager
def worker_process(config: dict[str, Any]) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    process = subprocess.Popen([sys.executable, str(WORKER), json.dumps(config)], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def log_lines(path: pathlib.Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def make_config(url: str, names: Any, log: pathlib.Path, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "queue": f"q_{names.suffix}",
        "subject": names.subject(),
        "stream": names.stream(),
        "log": str(log),
        **extra,
    }


async def test_sigkilled_workers_task_is_redelivered_to_a_live_worker(
    nats_url: str, names: Any, tmp_path: pathlib.Path
) -> None:
    log = tmp_path / "runs.log"
    config = make_config(nats_url, names, log, ack_wait=2.0)
    client = load_worker_module().build(config)
    await client.startup()
    try:
        with worker_process(config) as doomed:
            await client.find_task("record").kiq("x", seconds=4.0)
            await until(lambda: f"start x {doomed.pid}" in log_lines(log), 30, "first start")
            with worker_process(config) as survivor:
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(10)
                await until(
                    lambda: f"done x {survivor.pid}" in log_lines(log),
                    30,
                    "the survivor ran the killed worker's task",
                )
    finally:
        await client.shutdown()
    assert not any(line.startswith("done x") and str(doomed.pid) in line for line in log_lines(log))


async def test_worker_and_client_carry_on_after_the_server_restarts(
    private_server: Any, names: Any, tmp_path: pathlib.Path
) -> None:
    log = tmp_path / "runs.log"
    config = make_config(private_server.url, names, log, bucket=names.bucket("results"))
    client = load_worker_module().build(config)
    record = client.find_task("record")
    await client.startup()
    try:
        with worker_process(config) as worker:
            before = await record.kiq("before")
            assert (await before.wait_result(timeout=30)).return_value == "before"

            private_server.stop()
            await asyncio.sleep(1.0)
            await private_server.start()

            after = await kiq_when_reconnected(record, "after")
            assert (await after.wait_result(timeout=30)).return_value == "after"
            assert worker.poll() is None
        assert f"done after {worker.pid}" in log_lines(log)
    finally:
        await client.shutdown()


async def kiq_when_reconnected(task: Any, label: str) -> Any:
    """Kick once the client has reconnected (a kick during the outage raises SendTaskError)."""
    from taskiq.exceptions import SendTaskError

    for _ in range(60):
        with contextlib.suppress(SendTaskError):
            return await task.kiq(label)
        await asyncio.sleep(0.5)
    pytest.fail("the client did not reconnect within 30 s")


async def test_worker_and_client_recreate_what_a_wiped_server_lost(
    private_server: Any, names: Any, tmp_path: pathlib.Path
) -> None:
    """The server comes back empty: streams and consumer are created again by both sides."""
    log = tmp_path / "runs.log"
    config = make_config(private_server.url, names, log)
    client = load_worker_module().build(config)
    record = client.find_task("record")
    await client.startup()
    try:
        with worker_process(config) as worker:
            await record.kiq("before")
            await until(lambda: f"done before {worker.pid}" in log_lines(log), 30, "before")

            private_server.stop()
            shutil.rmtree(private_server.store)
            await private_server.start()

            await kiq_when_reconnected(record, "after")
            await until(lambda: f"done after {worker.pid}" in log_lines(log), 40, "after")
    finally:
        await client.shutdown()
