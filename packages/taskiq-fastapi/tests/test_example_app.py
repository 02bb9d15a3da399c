"""examples/fastapi_app end to end: a real uvicorn, a real `taskiq worker`, a real Redis.

The test runs the two commands the example's README gives, from the examples
directory, with a unique queue name, and drives the web API over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
REDIS_URL = "redis://127.0.0.1:6379"
DEADLINE = 45.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within the deadline."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _delete_keys(queue: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def queue(require_service: Callable[[str, str, int], None]) -> Iterator[str]:
    """A queue name of this test alone; its stream and results are deleted afterwards."""
    require_service("redis", "127.0.0.1", 6379)
    name = f"fastapi-example-{uuid.uuid4().hex[:12]}"
    yield name
    _delete_keys(name)


@pytest.fixture
def example(queue: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The README's two commands running; yields an HTTP client on the web server."""
    env = {**os.environ, "REDIS_URL": REDIS_URL, "TASKIQ_QUEUE": queue, "GREETING": "Howdy"}
    port = _free_port()
    worker_cmd = [sys.executable, "-m", "taskiq", "worker", "fastapi_app.broker:broker"]
    worker_cmd += ["fastapi_app.tasks", "--workers", "1"]
    web_cmd = [sys.executable, "-m", "uvicorn", "fastapi_app.web:app"]
    web_cmd += ["--host", "127.0.0.1", "--port", str(port)]
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("worker", "web")}
    worker = subprocess.Popen(
        worker_cmd, cwd=EXAMPLES, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT
    )
    web = subprocess.Popen(
        web_cmd, cwd=EXAMPLES, env=env, stdout=logs["web"], stderr=subprocess.STDOUT
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        _wait_until_serving(client, web)
        yield client
    finally:
        client.close()
        _stop(web)
        _stop(worker)
        for log in logs.values():
            log.close()
        for name in logs:
            sys.stderr.write(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()}\n")


def _wait_until_serving(client: httpx.Client, web: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert web.poll() is None, "uvicorn exited before serving"
        try:
            client.get("/settings")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("uvicorn did not answer in time")


def _poll_result(client: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        response = client.get(f"/greetings/{task_id}")
        if response.status_code != 202:
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.1)
    raise TimeoutError(f"no result for task {task_id} after {DEADLINE} s")


@pytest.mark.slow
def test_enqueue_over_http_and_fetch_the_result(example: httpx.Client) -> None:
    response = example.post("/greetings", json={"name": "Ada"})
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]

    body = _poll_result(example, task_id)

    assert body["ready"] is True
    result = body["result"]
    # The greeting comes from app.state, set by the app's lifespan inside the worker.
    assert result["greeting"] == "Howdy, Ada!"
    assert result["task_id"] == task_id
    assert result["in_worker"] is True

    # A result nobody stored yet reads as pending; the shared dependency works in FastAPI.
    pending = example.get(f"/greetings/{uuid.uuid4().hex}")
    assert (pending.status_code, pending.json()) == (202, {"ready": False})
    assert example.get("/settings").json() == {"greeting": "Howdy"}
