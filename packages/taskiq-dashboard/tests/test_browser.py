"""The dashboard in Chromium against a live ``taskiq worker`` on Redis.

One system per module (a worker, the dashboard, the browser: starting them is most of
the cost); the tests run in order and each leaves the system idle for the next.
``DASHBOARD_SCREENSHOTS=docs/dashboard`` writes the documentation's screenshots.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_driver import BROWSER_DIR, REDIS_URL, Browser
from redis.asyncio import Redis
from taskiq import AsyncKicker
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TESTS_DIR = Path(__file__).parent
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(probe: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.2)


@dataclass
class System:
    """A worker and the dashboard on one queue, and the browser looking at it."""

    url: str
    queue: str
    base: str
    env: dict[str, str]
    logs: Path
    browser: Browser
    processes: list[subprocess.Popen[bytes]]

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "taskiq", *args, "--app-dir", str(TESTS_DIR)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        return self.start(
            "worker",
            "worker",
            "dashboard_test_app:broker",
            "--workers",
            "1",
            "--max-async-tasks",
            "2",
            "--heartbeat-interval",
            "1",
        )

    def kiq(self, task_name: str, *args: Any, count: int = 1) -> list[str]:
        return asyncio.run(_kiq(self.url, self.queue, task_name, args, count))

    def redis(self, *command: Any) -> Any:
        return asyncio.run(_redis(self.url, command))

    def screenshot(self, name: str) -> None:
        if SCREENSHOTS:
            self.browser.call("screenshot", path=str(Path(SCREENSHOTS).resolve() / name))

    def stop(self) -> None:
        self.browser.close()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


async def _kiq(url: str, queue: str, name: str, args: tuple[Any, ...], count: int) -> list[str]:
    backend: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        url, prefix_str=queue, result_ex_time=600
    )
    broker = RedisBroker(url, queue_name=queue).with_result_backend(backend)
    await broker.startup()
    try:
        return [(await AsyncKicker(name, broker, {}).kiq(*args)).task_id for _ in range(count)]
    finally:
        await broker.shutdown()


async def _redis(url: str, command: tuple[Any, ...]) -> Any:
    async with Redis.from_url(url) as client:
        return await client.execute_command(*command)  # type: ignore[no-untyped-call]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Started once: the fixtures it needs are function-scoped, so it checks them itself."""
    yield from _system(tmp_path_factory.mktemp("dashboard"), REDIS_URL, BROWSER_DIR)


def _system(logs: Path, url: str, browser_dir: Path) -> Iterator[System]:
    import uuid

    queue = f"tq-dash-{uuid.uuid4().hex[:12]}"
    port = free_port()
    env = {**os.environ, "DASH_REDIS": url, "DASH_QUEUE": queue}
    browser = Browser(browser_dir / "driver.mjs")
    system = System(url, queue, f"http://127.0.0.1:{port}", env, logs, browser, [])
    try:
        system.worker()
        dashboard = ["dashboard", "dashboard_test_app:broker", "--port", str(port)]
        system.start("dashboard", *dashboard, "--interval", "0.5")
        wait_until(lambda: _answers(system.base + "/"), what="the dashboard answering")
        yield system
    finally:
        system.stop()
        keys = system.redis("KEYS", f"*{queue}*")
        if keys:
            system.redis("DEL", *keys)


@pytest.fixture(autouse=True)
def _tools(browser_tools: Path, redis_url: str) -> None:
    """Skip (or fail in CI) before the module's system starts without Redis or Chromium."""


def _row(queue: str) -> str:
    return f'#queues tr[data-queue="{queue}"]'


def test_the_overview_shows_a_queue_growing_and_draining(system: System) -> None:
    browser = system.browser
    assert browser.call("goto", url=system.base + "/") == 200
    browser.wait_text("#worker-count", r"^1 live", timeout=120)
    system.kiq("dash:sleep", 0.4, count=16)
    # Live (server-sent events): the page is never reloaded while the numbers change.
    browser.wait_text(_row(system.queue), rf"^{system.queue}\t(?!0\t0\t0\t)")
    browser.wait_text("#workers", r"dash:sleep")
    system.screenshot("overview.png")
    browser.wait_text(_row(system.queue), rf"^{system.queue}\t0\t0\t0\t", timeout=90)
    assert browser.call("url") == system.base + "/"


def test_a_failed_task_page_shows_its_error_escaped_and_its_timeline(system: System) -> None:
    browser = system.browser
    [task_id] = system.kiq("dash:fail", "<b>bold</b> & <script>no</script>")
    assert browser.call("goto", url=system.base + "/tasks") == 200
    browser.call("fill", selector="input[name=id]", value=task_id)
    browser.call("click", selector="form.search button")
    text = browser.wait_text("#timeline", r"failed")
    assert "queued" in text
    assert "started" in text
    assert "<b>bold</b> & <script>no</script>" in browser.call("text", selector="#error")
    assert browser.call("count", selector="#error b, #error script") == 0
    system.screenshot("task.png")


def test_dead_letters_are_deleted_and_replayed_from_the_page(system: System) -> None:
    browser = system.browser
    system.kiq("dash:poison", count=4)
    page = f"{system.base}/dead-letters?queue={system.queue}"
    wait_until(
        lambda: (
            browser.call("goto", url=page) and browser.call("text", selector="#dead-count") == "4"
        ),
        what="four dead letters listed",
    )
    browser.call("check", selector="#dead-letters input[name=id]")
    browser.call("click", selector="#delete-selected")
    browser.wait_text(".notice", r"Deleted 1 dead letter")
    assert browser.call("dialogs") == ["Delete the selected dead letters for good?"]
    assert browser.call("text", selector="#dead-count") == "3"
    system.screenshot("dead-letters.png")
    system.redis("SET", system.queue + ":healed", "1")
    browser.call("click", selector=".replay-one")
    browser.wait_text(".notice", r"Replayed 1 dead letter")
    wait_until(lambda: system.redis("GET", system.queue + ":done") == b"1", what="the replay ran")
    # From a dead-lettered task's page: its message, and replay sends it again.
    browser.call("click", selector="#dead-letters td a")
    browser.wait_text("#status", r"^dead_lettered$")
    assert '"task_name":"dash:poison"' in browser.call("text", selector="#message")
    browser.call("click", selector="#replay-dead-letter")
    browser.wait_text(".notice", r"Replayed 1 dead letter")
    wait_until(lambda: system.redis("GET", system.queue + ":done") == b"2", what="page replay ran")
    assert browser.call("goto", url=page) == 200
    browser.call("click", selector="#replay-all")
    browser.wait_text(".notice", r"Replayed 1 dead letter")
    assert browser.call("dialogs") == [f"Replay all 1 dead letters of {system.queue}?"]
    wait_until(lambda: system.redis("GET", system.queue + ":done") == b"3", what="replay all ran")
    assert browser.call("text", selector="#dead-count") == "0"


def test_cancel_from_the_page_stops_a_running_task(system: System) -> None:
    if not hasattr(RedisBroker, "cancel"):
        pytest.skip("this taskiq has no broker.cancel yet (task cancellation is separate work)")
    browser = system.browser
    [task_id] = system.kiq("dash:sleep", 60)
    page = f"{system.base}/tasks/{task_id}"
    wait_until(
        lambda: browser.call("goto", url=page) and browser.call("count", selector="#cancel"),
        what="the task started, with a cancel button",
    )
    browser.call("click", selector="#cancel")
    browser.wait_text(".notice", r"Cancel: requested")
    wait_until(
        lambda: (
            browser.call("goto", url=page)
            and browser.call("text", selector="#status") == "cancelled"
        ),
        what="the task cancelled",
    )


def test_a_killed_worker_disappears_from_the_overview(system: System) -> None:
    browser = system.browser
    assert browser.call("goto", url=system.base + "/") == 200
    browser.wait_text("#worker-count", r"^1 live")
    worker = system.processes[0]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    browser.wait_text("#worker-count", r"^0 live", timeout=60)
    assert browser.call("url") == system.base + "/"
