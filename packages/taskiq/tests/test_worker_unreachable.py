"""A broker that cannot be reached is waited for, not crash-looped on (issue 13, point 3).

Real ``taskiq worker`` and ``taskiq scheduler`` processes are pointed at a closed
loopback port. For Redis and NATS the test then starts its own server on that
port; for RabbitMQ (which we cannot start privately) a TCP proxy to the shared
server opens on it. The worker must log one line per attempt with growing
delays, no traceback, no child restart, then become ready and run a task.
A configuration error must stop the worker once, non-zero, with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

DEADLINE = 60.0

APP = """
import os
import pathlib

from taskiq import TaskiqScheduler

KIND = os.environ["H2_KIND"]
URL = os.environ["H2_URL"]
NAME = os.environ["H2_NAME"]
OUT = pathlib.Path(os.environ["H2_OUT"])

if KIND == "redis":
    from taskiq_redis import RedisBroker

    broker = RedisBroker(URL, queue_name=NAME)
elif KIND == "rabbitmq":
    from taskiq_aio_pika import AioPikaBroker

    broker = AioPikaBroker(URL, queue_name=NAME, exchange_name=NAME)
else:
    from taskiq_nats import JetStreamBroker

    broker = JetStreamBroker(URL, queue=NAME, stream_name=NAME, subject=NAME)


@broker.task(task_name="touch")
async def touch(name: str) -> None:
    (OUT / name).write_text("done")


scheduler = TaskiqScheduler(broker, sources=[])
"""

_ATTEMPT = re.compile(r"retrying in ([\d.]+) s \(attempt (\d+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


async def until(condition: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"Timed out waiting for {what}; log:\n{log()}")
        await asyncio.sleep(0.1)


class Process:
    """``python -m taskiq <command>`` in its own session, output in a file."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = tmp / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
        self._out = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskiq", *args],
            cwd=tmp,
            env={**os.environ, **env},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_log(self, pattern: str) -> None:
        await until(lambda: re.search(pattern, self.log()) is not None, pattern, self.log)

    async def wait_exit(self) -> int:
        await until(lambda: self.process.poll() is not None, "the process to exit", self.log)
        code = self.process.returncode
        assert isinstance(code, int)
        return code

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._out.close()


class Server:
    """What answers on the port once the test lets it: a private server or a proxy."""

    def __init__(self, kind: str, port: int, tmp: Path, extra: list[str] | None = None) -> None:
        self.kind, self.port, self.tmp, self.extra = kind, port, tmp, extra or []
        self.process: subprocess.Popen[bytes] | None = None
        self.proxy: asyncio.Server | None = None

    async def start(self) -> None:
        if self.kind == "rabbitmq":
            self.proxy = await asyncio.start_server(self._pipe_to_rabbit, "127.0.0.1", self.port)
        else:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        await until(lambda: answers(self.port), f"{self.kind} on {self.port}", lambda: "")

    def _command(self) -> list[str]:
        if self.kind == "redis":
            base = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            return [*base, "--appendonly", "no", "--dir", str(self.tmp), *self.extra]
        store = self.tmp / f"nats-{self.port}"
        base = ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(store)]
        return [*base, *self.extra]

    async def _pipe_to_rabbit(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5672)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None


KINDS = {
    "redis": ("taskiq_redis", "redis-server", 6379, "redis://:s3cret@127.0.0.1:{port}/0"),
    "rabbitmq": ("taskiq_aio_pika", None, 5672, "amqp://guest:guest@127.0.0.1:{port}/"),
    "nats": ("taskiq_nats", "nats-server", 4222, "nats://127.0.0.1:{port}"),
}


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "h2app.py").write_text(APP)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.close()


@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        await server.stop()


def needs(kind: str, require_service: Callable[[str, str, int], None]) -> None:
    package, binary, service_port, _ = KINDS[kind]
    pytest.importorskip(package)
    if binary is not None and shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed; this test starts its own {kind} server")
    if binary is None:
        require_service(kind, "127.0.0.1", service_port)


def env_for(kind: str, url: str, app_dir: Path) -> dict[str, str]:
    return {
        "H2_KIND": kind,
        "H2_URL": url,
        "H2_NAME": f"h2{uuid.uuid4().hex[:10]}",
        "H2_OUT": str(app_dir / "out"),
        "PYTHONPATH": str(app_dir),
    }


def assert_absent(log: str, *words: str) -> None:
    for word in words:
        assert word not in log, f"{word!r} in the log:\n{log}"


def attempts(log: str) -> list[tuple[int, float]]:
    return [(int(n), float(delay)) for delay, n in _ATTEMPT.findall(log)]


def assert_patient(log: str) -> None:
    """One line per attempt, growing delays, no traceback, no child restart."""
    seen = attempts(log)
    assert [n for n, _ in seen[:3]] == [1, 2, 3], log
    assert seen[2][1] > seen[0][1], log  # [2, 4] s against [0.5, 1] s: jitter cannot hide it
    assert_absent(log, "Traceback", "restarting", "died", "s3cret")


async def kick_touch(env: dict[str, str], url: str, name: str) -> None:
    """Send ``touch(name)`` from this process through a client broker on ``url``."""
    code = (
        "import asyncio, os, h2app\n"
        "from taskiq import AsyncKicker\n"
        "async def main():\n"
        "    await h2app.broker.startup()\n"
        f"    await AsyncKicker('touch', h2app.broker, {{}}).kiq({name!r})\n"
        "    await h2app.broker.shutdown()\n"
        "asyncio.run(main())\n"
    )
    sender = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env={**os.environ, **env, "H2_URL": url}
    )
    assert await asyncio.wait_for(sender.wait(), DEADLINE) == 0


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", list(KINDS))
async def test_worker_waits_for_an_unreachable_broker_then_serves(
    kind: str,
    app_dir: Path,
    processes: list[Process],
    servers: list[Server],
    require_service: Callable[[str, str, int], None],
) -> None:
    needs(kind, require_service)
    port = free_port()
    url = KINDS[kind][3].format(port=port)
    extra = ["--requirepass", "s3cret"] if kind == "redis" else []
    env = env_for(kind, url, app_dir)
    worker = Process(app_dir, env, "worker", "h2app:broker", "--workers", "1")
    processes.append(worker)

    await worker.wait_log(r"\(attempt 3\)")
    assert_patient(worker.log())
    assert "Cannot reach" in worker.log()

    server = Server(kind, port, app_dir, extra)
    servers.append(server)
    await server.start()
    await worker.wait_log(r"is ready")
    await kick_touch(env, url, "after-outage")
    done = app_dir / "out" / "after-outage"
    await until(done.exists, "the task to run", worker.log)
    assert_absent(worker.log(), "restarting", "Traceback")

    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait_exit() == 0


#: case: (kind, URL, what the one line says, options of the server we start)
CONFIG_ERRORS: dict[str, tuple[str, str, str, list[str]]] = {
    "redis-login": (
        "redis",
        "redis://:wrong@127.0.0.1:{port}/0",
        "refused the login",
        ["--requirepass", "x"],
    ),
    "redis-scheme": ("redis", "mysql://127.0.0.1:{port}/0", "Invalid Redis URL", []),
    "rabbitmq-login": ("rabbitmq", "amqp://guest:wrong@127.0.0.1:5672/", "login was refused", []),
    "rabbitmq-scheme": ("rabbitmq", "http://guest:guest@127.0.0.1:5672/", "scheme must be", []),
    "nats-login": (
        "nats",
        "nats://u:wrong@127.0.0.1:{port}",
        "refused the login",
        ["--user", "u", "--pass", "p"],
    ),
    "nats-scheme": ("nats", "http://127.0.0.1:{port}", "scheme must be one of", []),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
async def test_a_configuration_error_stops_the_worker_once(
    case: str,
    app_dir: Path,
    processes: list[Process],
    servers: list[Server],
    require_service: Callable[[str, str, int], None],
) -> None:
    kind, url_template, says, extra = CONFIG_ERRORS[case]
    needs(kind, require_service)
    port = free_port()
    if kind != "rabbitmq":
        server = Server(kind, port, app_dir, extra)
        servers.append(server)
        await server.start()
    env = env_for(kind, url_template.format(port=port), app_dir)
    worker = Process(app_dir, env, "worker", "h2app:broker", "--workers", "2")
    processes.append(worker)

    assert await worker.wait_exit() != 0
    log = worker.log()
    errors = [line for line in log.splitlines() if "[ERROR" in line and "taskiq" in line]
    assert len(errors) == 1, log
    assert says in errors[0], log
    assert_absent(log, "wrong", "Traceback", "restarting")


@pytest.mark.timeout(120)
async def test_scheduler_waits_for_an_unreachable_broker(
    app_dir: Path,
    processes: list[Process],
    servers: list[Server],
    require_service: Callable[[str, str, int], None],
) -> None:
    needs("redis", require_service)
    port = free_port()
    env = env_for("redis", f"redis://127.0.0.1:{port}/0", app_dir)
    scheduler = Process(app_dir, env, "scheduler", "h2app:scheduler")
    processes.append(scheduler)

    await scheduler.wait_log(r"\(attempt 3\)")
    assert_patient(scheduler.log())
    server = Server("redis", port, app_dir)
    servers.append(server)
    await server.start()
    await scheduler.wait_log("Scheduler started")
    scheduler.process.send_signal(signal.SIGTERM)
    assert await scheduler.wait_exit() == 0


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_a_broker_lost_mid_run_is_waited_for_without_child_restarts(
    kind: str,
    app_dir: Path,
    processes: list[Process],
    servers: list[Server],
    require_service: Callable[[str, str, int], None],
) -> None:
    needs(kind, require_service)
    port = free_port()
    url = KINDS[kind][3].format(port=port).replace(":s3cret@", "")
    env = env_for(kind, url, app_dir)
    server = Server(kind, port, app_dir)
    servers.append(server)
    await server.start()
    worker = Process(app_dir, env, "worker", "h2app:broker", "--workers", "1")
    processes.append(worker)
    await worker.wait_log("is ready")
    await kick_touch(env, url, "before")
    await until((app_dir / "out" / "before").exists, "the first task", worker.log)

    await server.stop()
    await worker.wait_log(r"Cannot reach|Disconnected from NATS")
    await asyncio.sleep(3)  # let the outage last a few attempts
    await server.start()
    await kick_touch(env, url, "after")
    await until((app_dir / "out" / "after").exists, "a task after the outage", worker.log)
    log = worker.log()
    assert_absent(log, "restarting", "died", "Traceback")
    assert log.count("Started worker-0") == 1, log
