"""Apps with different queues on one server never meet; colliding settings fail once.

Each queue gets its own subject, stream and consumer (`taskiq_nats.topology`).
Explicit settings that make two apps compete for one subject of a work-queue
stream fail the second app's start-up with a message naming the stream, the
consumer and the fix; invalid names fail when the broker is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError
from taskiq import BrokerConfigError
from taskiq_nats import JetStreamBroker, PushBasedJetStreamBroker
from taskiq_nats.topology import ConsumerConflictError, covers, overlap

Names = Any
Worker = Callable[..., contextlib.AbstractAsyncContextManager[None]]
Eventually = Callable[..., Any]


def _queue(names: Names, base: str) -> str:
    """A queue name whose derived streams the `names` fixture deletes afterwards."""
    queue = f"{base}_{names.suffix}"
    names.streams += [f"taskiq_jetstream_{queue}", f"taskiq_jetstream_{queue}_dead_letters"]
    return queue


def test_a_queue_names_its_subject_stream_and_consumer() -> None:
    broker = JetStreamBroker("nats://127.0.0.1:4222", queue="emails")
    assert broker.subject == "taskiq_tasks.emails"
    assert broker.stream_name == "taskiq_jetstream_emails"
    assert broker.durable == "emails"
    assert broker.dead_letters.stream_name == "taskiq_jetstream_emails_dead_letters"
    explicit = JetStreamBroker(
        "nats://127.0.0.1:4222", queue="emails", subject="mail.out", stream_name="mail"
    )
    assert (explicit.subject, explicit.stream_name, explicit.durable) == (
        "mail.out",
        "mail",
        "emails",
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"queue": "emails.high"}, ["queue 'emails.high'", "'.'"]),
        ({"queue": "a", "stream_name": "my stream"}, ["stream_name 'my stream'", "' '"]),
        ({"queue": "a", "durable": "x>y"}, ["durable 'x>y'", "'>'"]),
        ({"queue": "a", "subject": "tasks..a"}, ["subject 'tasks..a'"]),
        ({"queue": "a", "subject": "tasks.*"}, ["subject 'tasks.*'", "wildcards"]),
    ],
)
def test_invalid_names_fail_when_the_broker_is_built(
    options: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(BrokerConfigError) as raised:
        JetStreamBroker("nats://127.0.0.1:4222", **options)
    for word in words:
        assert word in str(raised.value)


def test_subject_matching_follows_nats_wildcards() -> None:
    assert covers("tasks.>", "tasks.a.b")
    assert covers("tasks.*", "tasks.a")
    assert not covers("tasks.*", "tasks.a.b")
    assert not covers("tasks", "tasks.a")
    assert overlap("tasks.*.x", "tasks.a.>")
    assert not overlap("tasks.a", "tasks.b")
    assert overlap(">", "anything.at.all")


async def test_two_queues_with_default_names_each_get_only_their_tasks(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    url = "nats://127.0.0.1:4222"
    seen: dict[str, list[int]] = {"a": [], "b": []}
    brokers = {}
    for app in ("a", "b"):
        broker = JetStreamBroker(url, queue=_queue(names, app), pull_consume_timeout=0.5)

        @broker.task(task_name="shared.name")
        async def record(value: int, app: str = app) -> None:
            seen[app].append(value)

        brokers[app] = (broker, record)
    async with run_worker(brokers["a"][0]), run_worker(brokers["b"][0]):
        for value in range(10):
            await brokers["a"][1].kiq(value)
            await brokers["b"][1].kiq(100 + value)
        await eventually(lambda: len(seen["a"]) == 10 and len(seen["b"]) == 10)
    assert sorted(seen["a"]) == list(range(10))
    assert sorted(seen["b"]) == list(range(100, 110))


async def test_queues_sharing_an_explicit_stream_each_add_their_subject(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    url = "nats://127.0.0.1:4222"
    stream = names.stream("shared")
    seen: list[str] = []
    first = JetStreamBroker(url, queue=f"one_{names.suffix}", stream_name=stream)
    second = JetStreamBroker(url, queue=f"two_{names.suffix}", stream_name=stream)
    for broker, app in ((first, "one"), (second, "two")):

        @broker.task(task_name="job")
        async def job(app: str = app) -> None:
            seen.append(app)

    async with run_worker(first), run_worker(second):
        await first.find_task("job").kiq()  # type: ignore[union-attr]
        await second.find_task("job").kiq()  # type: ignore[union-attr]
        await eventually(lambda: sorted(seen) == ["one", "two"])
        info = await first._jetstream().stream_info(stream)
        assert sorted(info.config.subjects or []) == sorted([first.subject, second.subject])


async def _wait_for_consumer(stream: str, durable: str, deadline: float = 20.0) -> None:
    """The first worker creates its consumer when it starts listening."""
    client = await nats.connect("nats://127.0.0.1:4222")
    end = asyncio.get_running_loop().time() + deadline
    try:
        while True:
            try:
                await client.jetstream().consumer_info(stream, durable)
                return
            except NotFoundError:
                assert asyncio.get_running_loop().time() < end, f"no consumer {durable!r}"
                await asyncio.sleep(0.05)
    finally:
        await client.close()


async def test_explicit_settings_that_collide_fail_start_up_naming_stream_consumer_and_fix(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    url = "nats://127.0.0.1:4222"
    stream, subject = names.stream("clash"), names.subject("clash")
    first_durable, second_durable = f"first_{names.suffix}", f"second_{names.suffix}"
    first = JetStreamBroker(url, queue=first_durable, subject=subject, stream_name=stream)
    second = JetStreamBroker(url, queue=second_durable, subject=subject, stream_name=stream)
    async with run_worker(first):
        await _wait_for_consumer(stream, first_durable)
        second.is_worker_process = True
        with pytest.raises(ConsumerConflictError) as raised:
            await second.startup()
        await second.shutdown()
    message = str(raised.value)
    assert f"Consumer {first_durable!r}" in message
    assert f"stream {stream!r}" in message
    assert f"durable={first_durable!r}" in message
    assert "its own subject=" in message
    assert isinstance(raised.value, BrokerConfigError)
    assert raised.value.__cause__ is None or "nats" not in type(raised.value.__cause__).__module__


async def test_a_kept_consumer_for_another_subject_is_reported_not_silently_used(
    names: Names,
) -> None:
    url = "nats://127.0.0.1:4222"
    stream, durable = names.stream("stale"), f"stale_{names.suffix}"
    old = PushBasedJetStreamBroker(
        url,
        subject=names.subject("old"),
        stream_name=stream,
        durable=durable,
        consumer_config=ConsumerConfig(durable_name=durable),
    )
    old.is_worker_process = True
    await old.startup()
    js = old._jetstream()
    await js.add_consumer(stream, old._consumer_config())
    await old.shutdown()
    new = JetStreamBroker(url, subject=names.subject("new"), stream_name=stream, durable=durable)
    new.is_worker_process = True
    with pytest.raises(ConsumerConflictError) as raised:
        await new.startup()
    await new.shutdown()
    assert f"nats consumer rm {stream} {durable}" in str(raised.value)


CLASHING_APP = """
from taskiq_nats import JetStreamBroker

broker = JetStreamBroker(
    "nats://127.0.0.1:4222", queue={queue!r}, subject={subject!r}, stream_name={stream!r}
)
"""


@pytest.mark.slow
async def test_a_worker_whose_settings_collide_exits_once_with_one_clear_line(
    names: Names, run_worker: Worker, tmp_path: Path
) -> None:
    url = "nats://127.0.0.1:4222"
    stream, subject = names.stream("worker_clash"), names.subject("worker_clash")
    first_durable = f"first_{names.suffix}"
    first = JetStreamBroker(url, queue=first_durable, subject=subject, stream_name=stream)
    (tmp_path / "app.py").write_text(
        CLASHING_APP.format(queue=f"second_{names.suffix}", subject=subject, stream=stream)
    )
    async with run_worker(first):
        await _wait_for_consumer(stream, first_durable)
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1",
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            output, _ = await asyncio.wait_for(worker.communicate(), 60)
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    log = output.decode()
    assert worker.returncode == 1, log
    assert log.count(f"Consumer {first_durable!r}") == 1, log
    assert "Traceback" not in log, log
