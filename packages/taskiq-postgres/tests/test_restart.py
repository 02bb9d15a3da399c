"""A PostgreSQL restart under a running worker: nothing lost, the worker carries on.

The test runs a private PostgreSQL (``initdb``/``pg_ctl`` from the Debian
binaries) on a free port, never the shared server. As root it runs them as
the ``postgres`` user, as PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_conftest_helpers import make_broker
from taskiq.testing.services import IN_CI
from test_workers import DEADLINE, _add, start_worker, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return str(Path(found[-1]).parent) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One throw-away PostgreSQL cluster: start, stop, start again on the same port."""

    def __init__(self, bin_dir: str) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="taskiq-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, f"{self.bin}/{tool}", *args], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        reason = "the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    server = PrivatePostgres(bin_dir)
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


async def test_a_restart_under_a_worker_loses_nothing(
    private_pg: PrivatePostgres, prefix: str, tmp_path: Path
) -> None:
    client = make_broker(private_pg.dsn, prefix)
    await client.startup()
    add = client.register_task(_add, task_name="pg:add")
    worker = start_worker(private_pg.dsn, prefix, tmp_path / "w.log")
    try:
        before = [await add.kiq(n, 1) for n in range(5)]
        assert [(await t.wait_result(timeout=DEADLINE)).return_value for t in before] == [
            1,
            2,
            3,
            4,
            5,
        ]
        private_pg.stop()
        private_pg.start()
        after = [await add.kiq(n, 10) for n in range(5)]
        values = [(await t.wait_result(timeout=DEADLINE)).return_value for t in after]
        assert values == [n + 10 for n in range(5)]
    finally:
        stop(worker)
        await client.shutdown()
    assert "Cannot reach PostgreSQL" in (tmp_path / "w.log").read_text()
