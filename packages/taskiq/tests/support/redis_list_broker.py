"""A deliberately small Redis-list broker, for the worker tests only.

``kick`` LPUSHes the message, ``listen`` RPOPs it, polling with a short pause.
It is naive on purpose: a cancelled RPOP may lose its cancellation (redis-py
on Python 3.11), which the worker must cope with. Not acknowledged:
a message a killed worker held is gone, which the tests take into account.
With ``record_acks=True`` each delivery is an `AckableMessage` whose ack
appends the payload to the list ``<queue>:acks``, so tests can see when the
receiver acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from redis.asyncio import Redis
from taskiq import AckableMessage, AsyncBroker, BrokerMessage

REDIS_URL = "redis://127.0.0.1:6379/0"


class RedisListBroker(AsyncBroker):
    """Messages in one Redis list named ``queue``."""

    def __init__(
        self,
        queue: str,
        url: str = REDIS_URL,
        poll_interval: float = 0.02,
        record_acks: bool = False,
    ) -> None:
        super().__init__()
        self.queue = queue
        self.record_acks = record_acks
        self.url = url
        self.poll_interval = poll_interval
        self.redis: Redis | None = None

    async def startup(self) -> None:
        self.redis = Redis.from_url(self.url)
        await super().startup()

    async def shutdown(self) -> None:
        await super().shutdown()
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    def _client(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("call broker.startup() first")
        return self.redis

    async def kick(self, message: BrokerMessage) -> None:
        await self._client().lpush(self.queue, message.message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        while True:
            data = await self._pop()
            if data is None:
                await asyncio.sleep(self.poll_interval)
                continue
            yield self._ackable(data) if self.record_acks else data

    async def _pop(self) -> bytes | None:
        data: bytes | None = await self._client().rpop(self.queue)
        return data

    def _ackable(self, data: bytes) -> AckableMessage:
        async def ack() -> None:
            await self._client().rpush(f"{self.queue}:acks", data)

        return AckableMessage(data=data, ack=ack)
