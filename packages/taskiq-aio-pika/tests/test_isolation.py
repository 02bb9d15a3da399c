"""A queue name isolates an app: two apps on one exchange never get each other's tasks.

Without routing options, each task queue is bound with its own name (not the
catch-all ``"#"``), and a ``"#"`` binding left by an older version is removed
at start-up. An explicit ``routing_key`` still binds as given.
"""

from __future__ import annotations

import aio_pika
from pika_helpers import RABBIT_URL, BrokerFactory, Names, queue_stats
from test_publish_consume import message


async def _ready(queue: str) -> int:
    return int(queue_stats(queue)["messages_ready"])


async def test_two_queue_names_on_the_default_exchange_each_get_only_their_tasks(
    make_broker: BrokerFactory, names: Names
) -> None:
    one = await make_broker(queue_name=names("one"))
    two = await make_broker(queue_name=names("two"), connection_name=f"{names.prefix}-two")
    for number in range(3):
        await one.kick(message(f"one-{number}"))
    for number in range(2):
        await two.kick(message(f"two-{number}"))
    assert await _ready(names("one")) == 3
    assert await _ready(names("two")) == 2


async def test_an_explicit_catch_all_routing_key_still_gets_every_task(
    make_broker: BrokerFactory, names: Names
) -> None:
    one = await make_broker(queue_name=names("one"))
    await make_broker(
        queue_name=names("audit"), routing_key="#", connection_name=f"{names.prefix}-audit"
    )
    await one.kick(message("t"))
    assert await _ready(names("one")) == 1
    assert await _ready(names("audit")) == 1


async def test_a_catch_all_binding_left_by_an_older_version_is_removed(
    make_broker: BrokerFactory, names: Names
) -> None:
    connection = await aio_pika.connect(RABBIT_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            names.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        old = await channel.declare_queue(
            names("old"),
            durable=True,
            arguments={
                "x-dead-letter-exchange": f"{names.exchange}.dead_letter",
                "x-dead-letter-routing-key": names("old"),
            },
        )
        await old.bind(exchange, routing_key="#")
    finally:
        await connection.close()
    await make_broker(queue_name=names("old"), connection_name=f"{names.prefix}-old")
    other = await make_broker(queue_name=names("new"))
    await other.kick(message("for-new"))
    assert await _ready(names("new")) == 1
    assert await _ready(names("old")) == 0
