"""Connecting to NATS with a bounded first attempt and unbounded reconnects.

nats-py applies ``max_reconnect_attempts`` both to the first connection and to
reconnects; its default either retries for minutes before reporting an
unreachable server or gives up on a server that restarts for longer than two
minutes. We want the opposite: fail fast (a clear error at startup) when the
server is not there at all, and reconnect forever once we have been connected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue
from taskiq.exceptions import BrokerConfigError, BrokerConnectionError, BrokerUnreachableError

from taskiq_nats._errors import NATS_FAILURES, describe

#: Connection attempts (per server) before `startup()` reports the server unreachable.
DEFAULT_CONNECT_ATTEMPTS = 3
#: Seconds between two attempts on the same server (nats-py's ``reconnect_time_wait``).
DEFAULT_RECONNECT_TIME_WAIT = 1.0
#: After the first connection: reconnect attempts per server; -1 means forever.
DEFAULT_MAX_RECONNECT_ATTEMPTS = -1

Servers = str | Sequence[str]


logger = logging.getLogger("taskiq_nats")

_CREDENTIALS = re.compile(r"//[^@/]*@")
#: URL schemes nats-py connects with; anything else fails with a misleading DNS error.
SCHEMES = ("nats", "tls", "ws", "wss")


def server_list(servers: Servers) -> list[str]:
    """Normalise ``servers`` (one URL, a comma-separated string, or a list) to a list."""
    if isinstance(servers, str):
        return [part.strip() for part in servers.split(",") if part.strip()]
    return list(servers)


def mask_servers(servers: Servers) -> str:
    """Server URLs fit for logs and errors: credentials replaced by ``***``."""
    return ", ".join(_CREDENTIALS.sub("//***@", url) for url in server_list(servers))


async def connect(
    servers: Servers,
    connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
    on_reconnect: Callable[[], None] | None = None,
    **connection_kwargs: Any,
) -> Client:
    """Connect, trying each server ``connect_attempts`` times (at least 2), then reconnect forever.

    Raises `BrokerConnectionError` when no server answers. ``on_reconnect`` is
    called after every reconnection (the server may have lost state). Every other
    keyword is passed to `nats.connect`; a ``max_reconnect_attempts`` given there
    applies after the first connection.
    """
    options = dict(connection_kwargs)
    reconnects = options.pop("max_reconnect_attempts", DEFAULT_MAX_RECONNECT_ATTEMPTS)
    options.setdefault("reconnect_time_wait", DEFAULT_RECONNECT_TIME_WAIT)
    events = _ConnectionLog(on_reconnect)
    options.setdefault("error_cb", events.error)
    options.setdefault("disconnected_cb", events.disconnected)
    options.setdefault("reconnected_cb", events.reconnected)
    check_schemes(servers)
    try:
        client: Client = await nats.connect(
            server_list(servers),
            # nats-py treats 0 as "forever", so one attempt is not expressible.
            max_reconnect_attempts=max(connect_attempts - 1, 1),
            **options,
        )
    except NATS_FAILURES as exc:
        # nats-py raises "no servers"; what went wrong was reported to error_cb.
        cause = events.last_error or exc
        raise startup_error(servers, cause) from cause
    client.options["max_reconnect_attempts"] = reconnects
    events.client = client
    return client


def check_schemes(servers: Servers) -> None:
    """Raise `BrokerConfigError` for a URL nats-py cannot use (``http://...``, say)."""
    for url in server_list(servers):
        scheme = url.partition("://")[0] if "://" in url else "nats"
        if scheme not in SCHEMES:
            raise BrokerConfigError(
                f"Invalid NATS server URL {mask_servers(url)!r}: the scheme must be one of "
                f"{', '.join(SCHEMES)} (nats://host:4222).",
            )


def startup_error(servers: Servers, exc: BaseException) -> BrokerConnectionError:
    """A refused login is a `BrokerConfigError`; anything else may heal (unreachable)."""
    reason = describe(exc)
    if "authorization" in reason.lower() or "authentication" in reason.lower():
        return BrokerConfigError(
            f"NATS at {mask_servers(servers)} refused the login ({reason}). "
            "Check the user, password or token in the URL or options.",
        )
    return BrokerUnreachableError(service="NATS", address=mask_servers(servers), reason=reason)


class _ConnectionLog:
    """Logs connection loss and recovery (but not our own close)."""

    def __init__(self, on_reconnect: Callable[[], None] | None) -> None:
        self.client: Client | None = None
        self.on_reconnect = on_reconnect
        #: The last failure nats-py reported; startup names it instead of "no servers".
        self.last_error: Exception | None = None

    async def error(self, exc: Exception) -> None:
        """nats-py reports every failed (re)connect here; startup raises the last one."""
        self.last_error = exc
        logger.debug("NATS connection error: %r", exc)

    async def disconnected(self) -> None:
        if self.client is not None and not self.client.is_closed:
            logger.warning("Disconnected from NATS; reconnecting.")

    async def reconnected(self) -> None:
        logger.warning("Reconnected to NATS.")
        if self.on_reconnect is not None:
            self.on_reconnect()


async def close(client: Client | None) -> None:
    """Close ``client`` if it is open; never raises (used on shutdown paths)."""
    if client is None or client.is_closed:
        return
    try:
        await client.close()
    except Exception:
        return


async def open_bucket(client: Client, config: KeyValueConfig) -> KeyValue:
    """Open the key-value bucket ``config.bucket``, creating it with ``config`` if missing.

    An existing bucket keeps its own settings (a changed TTL applies only to new buckets).
    """
    js = client.jetstream()
    try:
        return await js.key_value(config.bucket)
    except BucketNotFoundError:
        return await js.create_key_value(config)
