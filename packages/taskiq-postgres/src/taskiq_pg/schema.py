"""Every table and channel of the PostgreSQL broker in one place, and their migrations.

One messages table holds every queue: a row is ``ready`` (waiting for its
``available_at``), ``processing`` (claimed by ``worker`` until ``lease_until``)
or ``dead``. Acknowledging a row deletes it. The results side has its own tables
(results, task states, claims, worker heartbeats) so that a result backend can
live in another database than the broker.

`SCHEMA_VERSION` is stored in ``<prefix>_schema``; `migrate` applies each step
above the stored version under an advisory lock, so several workers starting
at once create the schema once.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

#: The version of the tables this code reads and writes.
SCHEMA_VERSION = 1

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


def checked_name(name: str, what: str) -> str:
    """``name`` if it can be a PostgreSQL identifier as written, else a one-line ValueError."""
    if not _NAME.match(name):
        raise ValueError(
            f"{what} must be letters, digits and '_' (at most 41, not starting with a digit), "
            f"not {name!r}.",
        )
    return name


@dataclass(frozen=True)
class BrokerTables:
    """The broker's table and channel names, from one prefix (``table_name``)."""

    messages: str
    channel_name: str | None = None

    @property
    def channel(self) -> str:
        """The NOTIFY channel that wakes the workers of these tables."""
        return self.channel_name or f"{self.messages}_ready"

    @property
    def version(self) -> str:
        return f"{self.messages}_schema"

    def steps(self) -> list[str]:
        """Migration steps, step N bringing the schema to version N."""
        t = self.messages
        return [
            f"""
            CREATE TABLE IF NOT EXISTS {t} (
                id bigserial PRIMARY KEY,
                queue text NOT NULL,
                task_id text,
                task_name text,
                message bytea NOT NULL,
                priority integer NOT NULL DEFAULT 0,
                state text NOT NULL DEFAULT 'ready',
                available_at timestamptz NOT NULL DEFAULT now(),
                delivery_count integer NOT NULL DEFAULT 0,
                lease_until timestamptz,
                worker text,
                reason text,
                dead_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX IF NOT EXISTS {t}_ready_idx ON {t}
                (queue, priority DESC, id) WHERE state = 'ready';
            CREATE INDEX IF NOT EXISTS {t}_lease_idx ON {t} (lease_until)
                WHERE state = 'processing';
            CREATE INDEX IF NOT EXISTS {t}_dead_idx ON {t} (queue, id) WHERE state = 'dead';
            """,
        ]


@dataclass(frozen=True)
class ResultTables:
    """The result backend's tables and channel, from one prefix (``table_name``)."""

    results: str

    @property
    def channel(self) -> str:
        """The NOTIFY channel on which stored results announce their task id."""
        return f"{self.results}_stored"

    @property
    def version(self) -> str:
        return f"{self.results}_schema"

    @property
    def states(self) -> str:
        return f"{self.results}_states"

    @property
    def claims(self) -> str:
        return f"{self.results}_claims"

    @property
    def workers(self) -> str:
        return f"{self.results}_workers"

    def steps(self) -> list[str]:
        """Migration steps, step N bringing the schema to version N."""
        r = self.results
        return [
            f"""
            CREATE TABLE IF NOT EXISTS {r} (
                task_id text PRIMARY KEY,
                result bytea,
                progress bytea,
                expires_at timestamptz
            );
            CREATE TABLE IF NOT EXISTS {self.states} (
                id bigserial PRIMARY KEY,
                task_id text NOT NULL,
                transition bytea NOT NULL,
                expires_at timestamptz
            );
            CREATE INDEX IF NOT EXISTS {self.states}_task_idx ON {self.states} (task_id, id);
            CREATE TABLE IF NOT EXISTS {self.claims} (
                key text PRIMARY KEY,
                owner text NOT NULL,
                expires_at timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {self.workers} (
                key text PRIMARY KEY,
                info bytea NOT NULL,
                expires_at timestamptz NOT NULL
            );
            """,
        ]


async def migrate(connection: Any, version_table: str, steps: list[str]) -> None:
    """Bring the tables to ``len(steps)``; refuse a database newer than this code."""
    lock = zlib.crc32(version_table.encode())
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", lock)
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL)"
        )
        current = await connection.fetchval(f"SELECT max(version) FROM {version_table}") or 0
        if current > len(steps):
            raise RuntimeError(
                f"The tables of {version_table!r} are at schema version {current}; this "
                f"taskiq_pg knows only up to {len(steps)}: upgrade taskiq-postgres.",
            )
        for number, step in enumerate(steps[current:], start=current + 1):
            await connection.execute(step)
            await connection.execute(f"INSERT INTO {version_table} VALUES ($1)", number)
