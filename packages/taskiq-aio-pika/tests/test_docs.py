"""The README and docs/brokers/rabbitmq.md examples run as written.

Each example runs in its own RabbitMQ virtual host (created for the test and
deleted afterwards), so its default names ("taskiq", "shop", ...) cannot clash
with anyone else's. The only change made to the code is the URL's vhost.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pika_helpers import rabbitmqctl, wait_for

HERE = Path(__file__).parent
README = HERE.parent / "README.md"
DOCS = HERE.parents[2] / "docs" / "brokers" / "rabbitmq.md"
DOC_URL = "amqp://guest:guest@localhost:5672/"

pytestmark = pytest.mark.slow


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def block_with(path: Path, marker: str) -> str:
    (block,) = [b for b in python_blocks(path) if marker in b]
    return block


@pytest.fixture
def vhost(rabbit: str) -> Iterator[str]:
    name = f"tq-pika-docs-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        rabbitmqctl("delete_vhost", name)


def write_example(directory: Path, module: str, code: str, vhost: str) -> None:
    assert DOC_URL in code, "examples use the documented URL"
    (directory / f"{module}.py").write_text(code.replace(DOC_URL, f"{DOC_URL}{vhost}"))


class Process:
    def __init__(self, args: list[str], cwd: Path, log: Path, **env: str) -> None:
        self.log = log
        with log.open("w") as output:
            self.popen = subprocess.Popen(
                args,
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                start_new_session=True,  # its own process group: stop() reaches children
            )

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        """SIGTERM the process group (graceful), SIGKILL it if it is still there."""
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def cli_available() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "taskiq", "worker", "--help"], capture_output=True, timeout=60
    )
    return done.returncode == 0


def worker_command(target: str, runner: str) -> list[str]:
    if runner == "cli":
        return [sys.executable, "-m", "taskiq", "worker", target, "--workers", "1"]
    return [sys.executable, str(HERE / "run_worker.py"), target]


def run_client(cwd: Path, module: str) -> str:
    done = subprocess.run(
        [sys.executable, f"{module}.py"], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("runner", ["receiver", "cli"])
async def test_readme_example(
    vhost: str, tmp_path: Path, processes: list[Process], runner: str
) -> None:
    if runner == "cli" and not cli_available():
        pytest.skip("`python -m taskiq worker` is not available in this checkout yet")
    write_example(tmp_path, "tasks", block_with(README, "def add"), vhost)
    worker = Process(worker_command("tasks:broker", runner), tmp_path, tmp_path / "worker.log")
    processes.append(worker)
    run_client(tmp_path, "tasks")  # declares the queue; the worker may start later

    await wait_for(
        lambda: "3 + 4 = 7" in worker.output() or worker.popen.poll() is not None,
        "the worker to run both tasks",
        deadline=40,
    )
    assert "1 + 2 = 3" in worker.output(), worker.output()
    assert "3 + 4 = 7" in worker.output(), worker.output()


async def test_docs_routing_example_worker_takes_only_its_queue(
    vhost: str, tmp_path: Path, processes: list[Process]
) -> None:
    write_example(tmp_path, "shop", block_with(DOCS, "def send_email"), vhost)
    run_client(tmp_path, "shop")
    worker = Process(
        worker_command("shop:broker", "receiver"),
        tmp_path,
        tmp_path / "worker.log",
        TASKIQ_QUEUES="emails",
    )
    processes.append(worker)

    await wait_for(lambda: "email to ada@example.com" in worker.output(), "the email task")
    assert "report for" not in worker.output()
    ready = rabbitmqctl("list_queues", "-p", vhost, "name", "messages_ready")
    assert re.search(r"^reports\t1$", ready, flags=re.M), ready


def test_docs_dead_letter_example_runs(vhost: str, tmp_path: Path) -> None:
    write_example(tmp_path, "show_dead_letters", block_with(DOCS, "sent back:"), vhost)
    output = run_client(tmp_path, "show_dead_letters")
    assert "0 dead letters" in output
    assert "sent back: 0" in output
