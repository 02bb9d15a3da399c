"""Fixtures for taskiq_pg tests: a database of this run's own, brokers on fresh tables.

The session creates ``taskiq_pg_<uuid>`` on the shared PostgreSQL and drops it at
the end; every test uses tables with a prefix of its own inside it.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from taskiq.testing.services import require_service_at
from taskiq_pg.asyncpg import AsyncpgBroker

HOST, PORT = "127.0.0.1", 5432
ADMIN_DSN = f"postgresql://postgres@{HOST}:{PORT}/postgres"
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from pg_conftest_helpers import make_broker  # noqa: E402


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a database created for this test session (dropped afterwards)."""
    require_service_at("postgres", HOST, PORT)
    name = f"taskiq_pg_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    yield f"postgresql://postgres@{HOST}:{PORT}/{name}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def prefix() -> str:
    """A table prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def pg_broker(pg_dsn: str, prefix: str) -> AsyncIterator[AsyncpgBroker]:
    """A started broker on fresh tables, as a worker process would start it."""
    broker = make_broker(pg_dsn, prefix, lease=2.0)
    broker.is_worker_process = True
    await broker.startup()
    yield broker
    await broker.shutdown()
