"""A RabbitMQ outage, simulated with a TCP proxy we own (the shared server keeps running)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
from pika_helpers import BrokerFactory, TcpProxy
from taskiq.exceptions import SendTaskError
from test_publish_consume import message, take


@pytest.fixture
async def proxy(rabbit: str) -> AsyncIterator[TcpProxy]:
    server = TcpProxy()
    await server.start()
    yield server
    await server.stop()


async def test_kick_during_an_outage_waits_for_the_reconnect(
    make_broker: BrokerFactory, proxy: TcpProxy
) -> None:
    broker = await make_broker(url=f"{proxy.url}?reconnect_interval=0.2", publish_timeout=30)
    await proxy.stop()  # RabbitMQ "goes away"
    sending = asyncio.create_task(broker.kick(message("during", b"during")))
    await asyncio.sleep(0)  # the kick starts while nothing answers
    assert not sending.done()
    await proxy.start()  # ... and comes back on the same port

    await asyncio.wait_for(sending, 30)
    async with aclosing(broker.listen()) as deliveries:
        (delivery,) = await take(deliveries, 1)
        await delivery.ack()
    assert delivery.data == b"during"


async def test_kick_gives_up_after_publish_timeout(
    make_broker: BrokerFactory, proxy: TcpProxy
) -> None:
    broker = await make_broker(url=proxy.url, publish_timeout=1.0)
    await proxy.stop()
    started = time.monotonic()
    with pytest.raises(SendTaskError, match=r"publish_timeout=1\.0 s") as caught:
        await asyncio.wait_for(broker.kick(message("lost")), 30)
    assert time.monotonic() - started >= 0.9
    assert "guest:***@127.0.0.1" in str(caught.value)
