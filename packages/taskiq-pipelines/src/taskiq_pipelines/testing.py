"""The fan-in contract suite: the tests every `FanInStore` must pass.

A package subclasses `FanInContract` and overrides the ``broker`` fixture: a
started broker whose result backend has a fan-in store (`fan_in_of`). Keys have
a random suffix, so the suite can share a server with other users.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from taskiq.abc.broker import AsyncBroker

from taskiq_pipelines.fan_in import FanInStore, fan_in_of


class FanInContract:
    """Subclass and override ``broker`` to test a result backend's fan-in store."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker whose result backend can fan in; override it."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def store(self, broker: AsyncBroker) -> FanInStore:
        return fan_in_of(broker)

    @pytest.fixture
    def key(self) -> str:
        return f"contract-{uuid.uuid4().hex[:12]}"

    async def test_only_the_member_completing_the_set_fires(
        self, store: FanInStore, key: str
    ) -> None:
        assert not await store.arrive(key, 0, 3, 30)
        assert not await store.arrive(key, 2, 3, 30)
        assert await store.arrive(key, 1, 3, 30)
        assert await store.arrived(key) == 3

    async def test_a_redelivered_member_counts_once(self, store: FanInStore, key: str) -> None:
        assert not await store.arrive(key, 0, 2, 30)
        assert not await store.arrive(key, 0, 2, 30)
        assert await store.arrived(key) == 1
        assert await store.arrive(key, 1, 2, 30)

    async def test_the_completing_member_fires_again_and_no_other_does(
        self, store: FanInStore, key: str
    ) -> None:
        assert not await store.arrive(key, 0, 2, 30)
        assert await store.arrive(key, 1, 2, 30)
        assert await store.arrive(key, 1, 2, 30)  # its worker died after arriving
        assert not await store.arrive(key, 0, 2, 30)  # a duplicate of another member

    async def test_concurrent_arrivals_fire_exactly_once(self, store: FanInStore, key: str) -> None:
        total = 200
        answers = await asyncio.gather(*(store.arrive(key, i, total, 30) for i in range(total)))
        assert sum(answers) == 1
        assert await store.arrived(key) == total

    async def test_an_unknown_key_has_no_arrivals(self, store: FanInStore, key: str) -> None:
        assert await store.arrived(key) == 0

    async def test_a_set_expires_after_its_ttl(self, store: FanInStore, key: str) -> None:
        assert not await store.arrive(key, 0, 2, 0.05)
        await asyncio.sleep(0.2)
        assert await store.arrived(key) == 0
