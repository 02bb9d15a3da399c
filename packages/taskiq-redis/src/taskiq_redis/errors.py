"""The one place where redis-py exceptions become taskiq exceptions.

Every call into redis-py that can fail in a way the user must see goes through
`translated`, which re-raises `redis.exceptions.RedisError` as the taskiq error
the caller names (``SendTaskError`` for a kick, ``ResultGetError`` for a read,
...), ``from`` the original. Messages name the server (``host:port``), never the
password: `RedisAddress` knows the secret and scrubs it from any driver text.

`TRANSIENT_ERRORS` are the failures a worker rides out by reconnecting (a
dropped connection, a restarting or failing-over server). At startup,
`connection_error` tells the two kinds apart for the worker: a refused login
is a `BrokerConfigError` (it exits once), anything else a
`BrokerUnreachableError` (it waits with the shared backoff).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    ClusterDownError,
    NoPermissionError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq.exceptions import (
    BrokerConfigError,
    BrokerConnectionError,
    BrokerUnreachableError,
    TaskiqError,
)

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    ReadOnlyError,
    RedisClusterException,
    ConnectionError,
    OSError,
)


class RedisAddress:
    """Where a client connects, printable without secrets."""

    def __init__(self, address: str, secrets: Iterable[str | None] = ()) -> None:
        self.address = address
        self._secrets = [secret for secret in secrets if secret]

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> RedisAddress:
        """Describe ``redis://user:secret@host:port/db`` as ``host:port``."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return cls("<unparsable URL>", [url])
        if parts.scheme == "unix":
            return cls(parts.path or "<unix socket>", [parts.password, password])
        address = f"{parts.hostname or 'localhost'}:{port or 6379}"
        return cls(address, [parts.password, password])

    @classmethod
    def from_hosts(cls, hosts: Iterable[tuple[str, int]], password: str | None) -> RedisAddress:
        """Describe a list of sentinels or cluster nodes."""
        return cls(",".join(f"{host}:{port}" for host, port in hosts), [password])

    def scrub(self, text: str) -> str:
        """Remove every known secret from ``text``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def reason(self, exc: BaseException) -> str:
        """A one-line description of ``exc`` naming this address, without secrets."""
        detail = self.scrub(str(exc)) or type(exc).__name__
        return f"{type(exc).__name__} from Redis at {self.address}: {detail}"

    def __str__(self) -> str:
        return self.address


@contextlib.contextmanager
def translated(
    error: type[TaskiqError],
    address: RedisAddress,
    **details: Any,
) -> Iterator[None]:
    """Re-raise any redis-py failure inside the block as ``error(**details, reason=...)``."""
    try:
        yield
    except (RedisError, RedisClusterException, OSError) as exc:
        raise error(**details, reason=address.reason(exc), address=str(address)) from exc


#: Redis answered, and said no: waiting will not change its mind.
_LOGIN_REFUSED = (AuthenticationError, AuthenticationWrongNumberOfArgsError, NoPermissionError)


def connection_error(address: RedisAddress, exc: BaseException) -> BrokerConnectionError:
    """The error a broker or backend raises when it cannot reach Redis at startup."""
    if isinstance(exc, _LOGIN_REFUSED):
        return BrokerConfigError(
            f"Redis at {address} refused the login ({address.scrub(str(exc))}). "
            "Check the user name and password in the URL or the password= option.",
        )
    return BrokerUnreachableError(service="Redis", address=str(address), reason=address.reason(exc))


def bad_url_error(url: str, exc: BaseException) -> BrokerConnectionError:
    """The error for a URL redis-py cannot parse (wrong scheme, bad port, ...).

    A `TypeError` means an unknown keyword reached redis-py's connection pool.
    """
    address = RedisAddress.from_url(url)
    if isinstance(exc, TypeError):
        return BrokerConfigError(
            f"Invalid connection option for Redis at {address}: {address.scrub(str(exc))}. "
            "Extra keyword arguments are passed to redis-py's connection pool; check their names.",
        )
    return BrokerConfigError(
        f"Invalid Redis URL for {address}: {address.scrub(str(exc))}. "
        "Use redis://[[user]:password@]host[:port][/db], rediss://... or unix:///path.",
    )
