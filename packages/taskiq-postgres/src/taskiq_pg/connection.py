"""Connection loss, at the boundary: which asyncpg errors mean "the server went away".

Every operation that must survive a restarting PostgreSQL runs through
`persist`, which waits with the shared `taskiq.reconnect.ReconnectBackoff`
(one WARNING per failed attempt, one INFO on recovery) and tries again; the
asyncpg pool replaces broken connections on the next acquire.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from taskiq.reconnect import ReconnectBackoff

_T = TypeVar("_T")

#: Errors after which the same operation may succeed on a new connection.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)


def safe_address(dsn: str) -> str:
    """``dsn`` without its password, for log lines."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def backoff_for(dsn: str) -> ReconnectBackoff:
    """The backoff of one PostgreSQL server."""
    return ReconnectBackoff(service="PostgreSQL", address=safe_address(dsn))


async def persist(
    operation: Callable[[], Awaitable[_T]],
    backoff: ReconnectBackoff,
    stop: asyncio.Event | None = None,
) -> _T:
    """Run ``operation`` until it succeeds, backing off after each lost connection.

    Raises the last connection error if ``stop`` is set while waiting.
    """
    while True:
        try:
            outcome = await operation()
        except CONNECTION_ERRORS as exc:
            if not await backoff.wait(exc, stop):
                raise
            continue
        backoff.succeeded()
        return outcome
