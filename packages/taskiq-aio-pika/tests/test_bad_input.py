"""Wrong settings and bad messages fail clearly, and never print the password."""

from __future__ import annotations

import asyncio
import logging
import socket
from contextlib import aclosing

import aio_pika
import pytest
from pika_helpers import (
    BrokerFactory,
    Names,
    WorkerStarter,
    connections_named,
    has_dead_letters,
    wait_for,
)
from taskiq.exceptions import BrokerConnectionError, ListenError
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver
from taskiq_aio_pika import AioPikaBroker, QueueArgumentsMismatchError, mask_url

SECRET = "s3cr3t-Pa55word"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_mask_url_hides_only_the_password() -> None:
    masked = mask_url(f"amqp://user:{SECRET}@rabbit.local:5672/vhost")
    assert masked == "amqp://user:***@rabbit.local:5672/vhost"
    assert mask_url("amqp://rabbit.local/") == "amqp://rabbit.local/"
    assert SECRET not in repr(AioPikaBroker(f"amqp://guest:{SECRET}@127.0.0.1/"))


async def test_wrong_password_fails_at_startup_without_printing_it(
    make_broker: BrokerFactory,
) -> None:
    with pytest.raises(BrokerConnectionError) as caught:
        await make_broker(url=f"amqp://guest:{SECRET}@127.0.0.1:5672/")
    text = str(caught.value)
    assert "login was refused" in text
    assert "guest:***@127.0.0.1:5672" in text
    assert SECRET not in text
    assert SECRET not in repr(caught.value.__cause__)


async def test_unreachable_host_fails_at_startup_with_the_address(
    make_broker: BrokerFactory,
) -> None:
    port = free_port()
    with pytest.raises(BrokerConnectionError) as caught:
        await make_broker(url=f"amqp://guest:{SECRET}@127.0.0.1:{port}/")
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_queue_declared_with_other_arguments_names_the_argument(
    make_broker: BrokerFactory, names: Names
) -> None:
    await make_broker(max_priority=5)
    with pytest.raises(QueueArgumentsMismatchError) as caught:
        await make_broker(max_priority=None, connection_name=f"{names.prefix}-second")
    assert caught.value.argument == "x-max-priority"  # type: ignore[attr-defined]
    assert "'x-max-priority'" in str(caught.value)
    assert names.queue in str(caught.value)
    assert connections_named(f"{names.prefix}-second") == [], "failed startup must disconnect"


async def test_unparseable_message_is_dead_lettered_and_logged(
    make_broker: BrokerFactory,
    names: Names,
    rabbit: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = await make_broker()
    connection = await aio_pika.connect(rabbit)
    async with connection:
        channel = await connection.channel()
        garbage = aio_pika.Message(b"\xff not json {", message_id="garbage")
        await channel.default_exchange.publish(garbage, routing_key=names.queue)

    finish = asyncio.Event()
    caplog.set_level(logging.WARNING)
    worker = asyncio.create_task(Receiver(broker).listen(finish))
    try:
        await wait_for(lambda: has_dead_letters(broker, 1), "the garbage in the dead-letter queue")
    finally:
        finish.set()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    (letter,) = await broker.peek_dead_letters()
    assert letter.message == b"\xff not json {"
    assert letter.reason.startswith("malformed: ")
    dead = [r for r in caplog.records if r.getMessage().startswith("Dead-lettered")]
    assert [r.levelno for r in dead] == [logging.WARNING]
    assert letter.reason in dead[0].getMessage()


async def test_switching_a_queue_to_quorum_names_x_queue_type(
    make_broker: BrokerFactory, names: Names
) -> None:
    await make_broker()
    with pytest.raises(QueueArgumentsMismatchError, match="x-queue-type"):
        await make_broker(queue_type="quorum", connection_name=f"{names.prefix}-second")


async def test_listening_to_a_missing_queue_without_declaring_is_a_listen_error(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(declare_queues=False)
    with pytest.raises(ListenError, match="NOT_FOUND"):
        async with aclosing(broker.listen()) as deliveries:
            await anext(deliveries)


async def test_rejected_and_unknown_tasks_land_in_the_dead_letter_queue(
    make_broker: BrokerFactory, start_worker: WorkerStarter
) -> None:
    client = await make_broker()
    await start_worker("rejecting")
    await AsyncKicker("reject_me", client, {}).kiq()
    await AsyncKicker("no.such:task", client, {}).kiq()

    await wait_for(lambda: has_dead_letters(client, 2), "both messages dead-lettered")
    letters = await client.peek_dead_letters()
    assert sorted(str(letter.task_name) for letter in letters) == ["no.such:task", "reject_me"]
    assert sorted(letter.reason for letter in letters) == [
        "rejected by the task",
        "unknown task 'no.such:task'",
    ]
