"""How a broker, backend or schedule source gets its Redis client.

A connector builds one client (standalone here; cluster and sentinel-managed in
`taskiq_redis.cluster` and `taskiq_redis.sentinel`) and knows the address to name
in error messages. Brokers ask a connector for their client instead of building
it, which is all that separates the plain, Cluster and Sentinel variants.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from taskiq_redis.errors import RedisAddress, bad_url_error, connection_error
from taskiq_redis.pool import QuickBlockingPool

#: Reconnect attempts per command: enough to ride out a dropped connection,
#: short enough that an unreachable server fails startup within a second.
DEFAULT_RETRY_ATTEMPTS = 2


#: Seconds before a silent server (network partition, frozen host) counts as gone.
DEFAULT_SOCKET_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0


def default_retry() -> Retry:
    """Retry a failed command twice, 50 ms then 100 ms later."""
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), DEFAULT_RETRY_ATTEMPTS)


def with_defaults(connection_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Fill in our retry and timeout defaults where the caller chose nothing."""
    connection_kwargs.setdefault("retry", default_retry())
    connection_kwargs.setdefault("socket_timeout", DEFAULT_SOCKET_TIMEOUT)
    connection_kwargs.setdefault("socket_connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    return connection_kwargs


class BaseConnector:
    """Builds one client lazily and knows how to describe its server without secrets."""

    address: RedisAddress

    def client(self) -> Redis:
        """The shared client; each command borrows a connection from its pool."""
        raise NotImplementedError

    async def check(self) -> None:
        """Ping the server; raise `BrokerConnectionError` naming it if that fails."""
        try:
            await self.client().ping()
        except Exception as exc:
            raise connection_error(self.address, exc) from exc

    async def close(self) -> None:
        """Close every connection; the connector can be used again afterwards."""


class Connector(BaseConnector):
    """A standalone Redis server reached through one bounded connection pool."""

    def __init__(
        self,
        url: str,
        max_connection_pool_size: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.address = RedisAddress.from_url(url, connection_kwargs.get("password"))
        with_defaults(connection_kwargs)
        try:
            self.pool: BlockingConnectionPool = QuickBlockingPool.from_url(
                url,
                max_connections=max_connection_pool_size,
                **connection_kwargs,
            )
        except (ValueError, TypeError) as exc:
            raise bad_url_error(url, exc) from exc
        self._client: Redis | None = None

    def client(self) -> Redis:
        """The shared client; each command borrows a connection from the pool."""
        if self._client is None:
            self._client = Redis(connection_pool=self.pool)
        return self._client

    async def close(self) -> None:
        """Close every pooled connection; the connector can be used again afterwards."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self.pool.disconnect()


class UsesConnector:
    """Mixin of the brokers, result backend and schedule source: a connector and its client.

    `_connect` is the one method the Cluster and Sentinel variants override.
    """

    connector: BaseConnector

    def _connect(
        self,
        url: str,
        max_connection_pool_size: int | None,
        connection_kwargs: dict[str, Any],
    ) -> BaseConnector:
        """Build the connector of a single server."""
        return Connector(url, max_connection_pool_size, **connection_kwargs)

    @property
    def redis(self) -> Redis:
        """The client every command goes through."""
        return self.connector.client()


def read_script(name: str) -> str:
    """The text of a Lua script shipped beside this module."""
    return resources.files("taskiq_redis").joinpath(name).read_text(encoding="utf-8")
