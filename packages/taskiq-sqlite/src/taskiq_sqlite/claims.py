"""Claims (`taskiq.control.claims`) as rows of ``taskiq_claims``, atomic by the write lock.

Every operation is one write transaction, and SQLite has one writer at a time,
so two processes claiming a free key never both get it. An expired row counts
as free (the sweep deletes it later).
"""

from __future__ import annotations

import sqlite3
import time
from functools import partial

from taskiq.control.claims import ClaimStore, check_ttl

from taskiq_sqlite.database import Database


class SQLiteClaimStore(ClaimStore):
    """Claims in the SQLite file."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def claim(self, key: str, owner: str, ttl: float) -> str:
        """Take ``key`` if free (or extend it if ``owner`` holds it); return the holder."""
        check_ttl(ttl)
        return await self.database.write(partial(_claim, key=key, owner=owner, ttl=ttl))

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s claim; False if it no longer holds it."""
        check_ttl(ttl)
        return await self.database.write(partial(_renew, key=key, owner=owner, ttl=ttl))

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` back if ``owner`` holds it."""
        return await self.database.write(partial(_release, key=key, owner=owner))

    async def holder(self, key: str) -> str | None:
        """Who holds ``key`` now."""
        return await self.database.read(partial(_holder, key=key))


def _claim(conn: sqlite3.Connection, key: str, owner: str, ttl: float) -> str:
    now = time.time()
    conn.execute(
        "INSERT INTO taskiq_claims (key, owner, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
        " WHERE taskiq_claims.expires_at <= ? OR taskiq_claims.owner = excluded.owner",
        (key, owner, now + ttl, now),
    )
    return str(conn.execute("SELECT owner FROM taskiq_claims WHERE key = ?", (key,)).fetchone()[0])


def _renew(conn: sqlite3.Connection, key: str, owner: str, ttl: float) -> bool:
    now = time.time()
    return (
        conn.execute(
            "UPDATE taskiq_claims SET expires_at = ?"
            " WHERE key = ? AND owner = ? AND expires_at > ?",
            (now + ttl, key, owner, now),
        ).rowcount
        > 0
    )


def _release(conn: sqlite3.Connection, key: str, owner: str) -> bool:
    return (
        conn.execute(
            "DELETE FROM taskiq_claims WHERE key = ? AND owner = ? AND expires_at > ?",
            (key, owner, time.time()),
        ).rowcount
        > 0
    )


def _holder(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute(
        "SELECT owner FROM taskiq_claims WHERE key = ? AND expires_at > ?", (key, time.time())
    ).fetchone()
    return None if row is None else str(row[0])
