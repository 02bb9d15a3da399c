"""The core dead-letter contract suite, run against JetStreamBroker on the shared NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue
from taskiq.testing.snippets import python_blocks
from taskiq_nats import JetStreamBroker


def _options(names: Any, base: str) -> dict[str, str]:
    stream = f"t_{base}_{names.suffix}"
    if stream not in names.streams:
        names.stream(base)  # deleted after the test
    return {
        "subject": names.subject(base),
        "stream_name": stream,
        "queue": f"q_{base}_{names.suffix}",
    }


async def _started(nats_url: str, names: Any, base: str) -> JetStreamBroker:
    broker = JetStreamBroker(nats_url, **_options(names, base))
    broker.is_worker_process = True
    await broker.startup()
    return broker


ROOT = Path(__file__).parents[3]
#: The pages whose dead-letter fragments this broker must run as written.
DOCUMENTED = [
    ROOT / "docs" / "brokers" / "nats.md",
    ROOT / "packages" / "taskiq-nats" / "README.md",
]
MARKER = "page = await store.list(limit=100)"


def _fragments() -> list[tuple[str, str]]:
    return [(str(page), code) for page in DOCUMENTED for code in python_blocks(page, MARKER)]


def test_every_documented_page_has_the_fragment() -> None:
    for page in DOCUMENTED:
        assert python_blocks(page, MARKER), page


class TestJetStreamDeadLetters(DeadLetterContract):
    @pytest.fixture
    async def broker(self, nats_url: str, names: Any) -> AsyncIterator[JetStreamBroker]:
        broker = await _started(nats_url, names, "tasks")
        yield broker
        await broker.shutdown()

    @pytest.fixture
    def worker_app(self, nats_url: str, names: Any) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in _options(names, "tasks").items())
        return (
            "from taskiq_nats import JetStreamBroker\n"
            f"broker = JetStreamBroker({nats_url!r}, {options})\n"
        )

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        return _fragments()

    @pytest.fixture
    async def other_queue(self, nats_url: str, names: Any) -> AsyncIterator[OtherQueue]:
        broker = await _started(nats_url, names, "other")
        yield OtherQueue(broker.subject, broker)
        await broker.shutdown()


async def test_the_dead_letter_stream_is_bounded(nats_url: str, names: Any) -> None:
    broker = JetStreamBroker(
        nats_url,
        subject=names.subject(),
        stream_name=names.stream(),
        dead_letter_max_messages=7,
        dead_letter_max_bytes=70_000,
        dead_letter_max_age=60,
    )
    await broker.startup()
    try:
        info = await broker._jetstream().stream_info(broker.dead_letters.stream_name)
        assert (info.config.max_msgs, info.config.max_bytes) == (7, 70_000)
        assert info.config.max_age == 60
    finally:
        await broker.shutdown()
    default = JetStreamBroker(nats_url, subject=names.subject(), stream_name=names.stream())
    await default.startup()  # an existing stream gets the new limits
    try:
        info = await default._jetstream().stream_info(default.dead_letters.stream_name)
        assert (info.config.max_msgs, info.config.max_bytes) == (100_000, 1024**3)
    finally:
        await default.shutdown()


def test_the_earlier_dead_letter_type_is_the_core_one() -> None:
    import taskiq
    import taskiq_nats

    assert taskiq_nats.DeadLetter is taskiq.DeadLetter
