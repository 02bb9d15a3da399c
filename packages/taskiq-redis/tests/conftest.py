"""Fixtures for taskiq_redis tests: the shared Redis, private servers, workers.

Every test works in its own queue/prefix (a uuid) and deletes only its own keys.
Restart and cluster tests run redis-server processes of their own on free
loopback ports, never touching the shared server's process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

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
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        pytest.skip("redis-server is not installed")
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
