"""Fixtures for taskiq_redis tests: the shared Redis, private servers, workers.

Every test works in its own queue/prefix (a uuid) and deletes only its own keys.
Restart and cluster tests run redis-server processes of their own on free
loopback ports, never touching the shared server's process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SHARED_HOST = "127.0.0.1"
SHARED_PORT = 6379
SHARED_URL = f"redis://{SHARED_HOST}:{SHARED_PORT}/0"
TESTS_DIR = Path(__file__).parent
# Test helper modules (redis_test_helpers, redis_worker_app) are imported by name.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture
def redis_url(require_service: Callable[[str, str, int], None]) -> str:
    """The shared Redis (skips, or fails in CI, when it is not running)."""
    require_service("redis", SHARED_HOST, SHARED_PORT)
    return SHARED_URL


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the shared Redis, for inspecting what a test left behind."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def queue_name(redis_client: Redis) -> AsyncIterator[str]:
    """A unique queue name; every key containing it is deleted afterwards."""
    name = f"tq-test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = [key async for key in redis_client.scan_iter(match=f"*{name}*", count=1000)]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def results_client(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    """A started `RedisBroker` with a result backend prefixed by the test's queue name.

    The control-plane contract suites that live on the result backend (workers,
    claims) take it as their ``broker``.
    """
    backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
    broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
    await broker.startup()
    yield broker
    await broker.shutdown()


@pytest.fixture
async def client(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    """A started `RedisBroker` on the test's queue, used to send tasks (not a worker)."""
    broker = RedisBroker(redis_url, queue_name=queue_name)
    await broker.startup()
    yield broker
    await broker.shutdown()


def require_redis_server() -> None:
    """Skip (fail under CI) when the redis-server binary is missing."""
    if shutil.which("redis-server") and shutil.which("redis-cli"):
        return
    reason = "redis-server/redis-cli are not installed; tests that start their own Redis need them"
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class RedisServer:
    """A private redis-server with an append-only file, so data survives restarts."""

    def __init__(self, directory: Path, extra: list[str] | None = None) -> None:
        self.port = free_port()
        self.directory = directory
        self.extra = extra or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where to connect."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis on a free port that the test may stop and restart."""
    require_redis_server()
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Workers:
    """Starts worker subprocesses running tests/redis_worker_app.py and stops them all."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **overrides: str) -> subprocess.Popen[bytes]:
        """Start one worker; wait until it says it is ready."""
        env = {**os.environ, **self.env, **overrides}
        process = subprocess.Popen(
            [sys.executable, str(TESTS_DIR / "redis_worker_app.py")],
            env=env,
            stdout=subprocess.PIPE,
        )
        self.processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == b"ready", f"worker did not start: {line!r}"
        return process

    def stop_all(self) -> None:
        """Kill every worker still running."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=20)
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def workers(redis_url: str, queue_name: str) -> Iterator[Workers]:
    """Worker processes on ``queue_name`` (2 s idle timeout); killed after the test."""
    pool = Workers(
        {
            "TQ_BROKER_URL": redis_url,
            "TQ_MARKS_URL": redis_url,
            "TQ_QUEUE": queue_name,
            "TQ_IDLE_MS": "2000",
            "PYTHONPATH": os.pathsep.join(
                [str(TESTS_DIR), os.environ.get("PYTHONPATH", "")],
            ),
        },
    )
    yield pool
    pool.stop_all()


def _port_pair_free(port: int) -> bool:
    for candidate in (port, port + 10000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster-bus ports (port + 10000) are free too."""
    import random

    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 29999)
        if port not in ports and _port_pair_free(port):
            ports.append(port)
    return ports


def _redis_cli(*args: str) -> str:
    return subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real 3-node Redis Cluster (no replicas) on loopback, for the whole session."""
    require_redis_server()
    ports = cluster_ports(3)
    processes = []
    for port in ports:
        directory = tmp_path_factory.mktemp(f"cluster-{port}")
        processes.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(directory),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
    try:
        for port in ports:
            wait_for_port(port)
        _redis_cli(
            "--cluster",
            "create",
            *(f"127.0.0.1:{port}" for port in ports),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        )
        deadline = time.monotonic() + 30
        while not all(
            "cluster_state:ok" in _redis_cli("-p", str(port), "cluster", "info") for port in ports
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the test Redis Cluster did not become ready")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """A private master plus one Sentinel monitoring it as ``mymaster``: (sentinel port, name)."""
    require_redis_server()
    master = RedisServer(tmp_path_factory.mktemp("sentinel-master"))
    master.start()
    port = free_port()
    directory = tmp_path_factory.mktemp("sentinel")
    config = directory / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
        "sentinel down-after-milliseconds mymaster 5000\n",
    )
    sentinel = subprocess.Popen(
        ["redis-server", str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 20
        while str(master.port) not in _redis_cli(
            "-p", str(port), "sentinel", "get-master-addr-by-name", "mymaster"
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the test Sentinel does not know its master")
            time.sleep(0.1)
        yield port, "mymaster"
    finally:
        sentinel.terminate()
        sentinel.wait(timeout=20)
        master.stop()
