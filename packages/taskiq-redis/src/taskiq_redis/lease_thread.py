"""Lease renewal from a helper thread, for when a task blocks the event loop.

`LeaseKeeper` renews on the event loop; a task that blocks the loop
(``time.sleep`` in an ``async def``) would stop it, and after ``idle_timeout``
another worker would take the entry over and run the task a second time.
`ThreadLeaseRenewer` renews the same held entries with its own synchronous
connection, driven by `taskiq.receiver.keepalive.BlockedLoopKeepAlive`: only
while the loop is blocked, and no longer than the blocking task's ``timeout``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import redis
from taskiq.receiver.keepalive import BlockedLoopKeepAlive

from taskiq_redis.connection import read_script
from taskiq_redis.leases import EXTEND_BATCH, LeaseKeeper

logger = logging.getLogger("taskiq_redis.leases")

#: Options of the async pool that mean the same to a synchronous client.
_PORTABLE_OPTIONS = (
    "host",
    "port",
    "db",
    "username",
    "password",
    "socket_timeout",
    "socket_connect_timeout",
    "client_name",
)


def sync_client_options(pool: Any) -> dict[str, Any]:
    """Keywords for `redis.Redis` that reach the server the async ``pool`` reaches."""
    given: dict[str, Any] = pool.connection_kwargs
    options = {key: given[key] for key in _PORTABLE_OPTIONS if key in given}
    if "path" in given:
        options["unix_socket_path"] = given["path"]
    if "SSL" in pool.connection_class.__name__:
        options["ssl"] = True
        options.update({key: value for key, value in given.items() if key.startswith("ssl_")})
    return options


def start_lease_thread(
    connector: Any, leases: LeaseKeeper, interval: float
) -> BlockedLoopKeepAlive | None:
    """Start renewing ``leases`` from a thread while the loop is blocked (call from the loop).

    Only a standalone server is reached this way; behind Sentinel or Cluster the
    leases are renewed on the loop alone (None is returned).
    """
    pool = getattr(connector, "pool", None)
    if pool is None:
        return None
    renewer = ThreadLeaseRenewer(leases, sync_client_options(pool))
    return BlockedLoopKeepAlive(renewer, interval, "taskiq-redis-leases").start()


class ThreadLeaseRenewer:
    """Extends the leases a `LeaseKeeper` holds, from the keep-alive thread."""

    def __init__(self, leases: LeaseKeeper, client_options: dict[str, Any]) -> None:
        self.leases = leases
        self.client_options = client_options
        self._client: redis.Redis | None = None
        self._script: Any = None

    def renew(self) -> None:
        """Touch every held entry still owned by this consumer (runs on the helper thread)."""
        by_stream: defaultdict[str, list[str]] = defaultdict(list)
        for stream, entry_id in self.leases.held.copy():
            by_stream[stream].append(entry_id)
        if not by_stream:
            return
        script = self._extend_script()
        for stream, ids in by_stream.items():
            for start in range(0, len(ids), EXTEND_BATCH):
                batch = ids[start : start + EXTEND_BATCH]
                script(keys=[stream], args=[self.leases.group, self.leases.consumer, *batch])
        logger.debug("Extended %d leases from the keep-alive thread.", len(by_stream))

    def _extend_script(self) -> Any:
        if self._script is None:
            self._client = redis.Redis(**self.client_options)
            self._script = self._client.register_script(read_script("stream_extend.lua"))
        return self._script

    def close(self) -> None:
        """Close the thread's connection, if it ever opened one."""
        if self._client is not None:
            self._client.close()
