"""The live-workers contract suite: one set of tests every `WorkerRegistry` must pass.

A package subclasses `WorkerRegistryContract` in its tests and overrides the
``broker`` fixture: a started broker whose result backend stores heartbeats.
Every record the suite writes has a host name of its own, so the suite can run
against a server other tests (and live workers) use at the same time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid
from collections.abc import Awaitable, Callable

import pytest

from taskiq.abc.broker import AsyncBroker
from taskiq.control.workers import (
    RunningTaskInfo,
    WorkerId,
    WorkerInfo,
    WorkerRegistry,
    workers_of,
)

#: Seconds any one wait of the suite may take before the test fails.
DEADLINE = 30.0


def record(host: str, index: int = 0, expires_in: float = 30.0, done: int = 0) -> WorkerInfo:
    """A heartbeat of a made-up worker on ``host``, written now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return WorkerInfo(
        id=WorkerId(host=host, pid=4242, index=index),
        queues=("contract-queue",),
        concurrency=10,
        running=(RunningTaskInfo("task-1", "contract:slow", now.replace(microsecond=0)),),
        done=done,
        failed=1 if done else 0,
        started=now - datetime.timedelta(minutes=5),
        heartbeat=now,
        expires_in=expires_in,
        version="0.0.0-contract",
    )


async def eventually(probe: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``probe()`` is true, failing after `DEADLINE` seconds."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not await probe():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {DEADLINE} s")
        await asyncio.sleep(0.1)


class WorkerRegistryContract:
    """Subclass and override ``broker`` to test a result backend's registry."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker whose result backend stores heartbeats; override it."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def registry(self, broker: AsyncBroker) -> WorkerRegistry:
        """The registry under test, found the way `taskiq workers` finds it."""
        return workers_of(broker)

    @pytest.fixture
    def host(self) -> str:
        """A host name no other test writes."""
        return f"contract-{uuid.uuid4().hex[:10]}"

    @staticmethod
    async def mine(registry: WorkerRegistry, host: str) -> list[WorkerInfo]:
        """The live records of ``host``."""
        return [info for info in await registry.list() if info.id.host == host]

    async def test_a_published_heartbeat_is_listed_as_written(
        self, registry: WorkerRegistry, host: str
    ) -> None:
        written = record(host)
        await registry.publish(written)
        assert await self.mine(registry, host) == [written]
        await registry.remove(written.id)

    async def test_a_new_heartbeat_replaces_the_last_one(
        self, registry: WorkerRegistry, host: str
    ) -> None:
        await registry.publish(record(host, done=1))
        await registry.publish(record(host, done=7))
        listed = await self.mine(registry, host)
        assert [info.done for info in listed] == [7]
        await registry.remove(listed[0].id)

    async def test_workers_are_listed_in_order_and_removed_one_by_one(
        self, registry: WorkerRegistry, host: str
    ) -> None:
        for index in (1, 0):
            await registry.publish(record(host, index=index))
        assert [info.id.index for info in await self.mine(registry, host)] == [0, 1]
        await registry.remove(WorkerId(host, 4242, 0))
        assert [info.id.index for info in await self.mine(registry, host)] == [1]
        await registry.remove(WorkerId(host, 4242, 1))
        await registry.remove(WorkerId(host, 4242, 1))  # a missing record is no error
        assert await self.mine(registry, host) == []

    async def test_a_heartbeat_that_is_not_renewed_expires(
        self, registry: WorkerRegistry, host: str
    ) -> None:
        short = record(host, expires_in=0.5)
        await registry.publish(short)

        async def gone() -> bool:
            return not await self.mine(registry, host)

        await eventually(gone)

    async def test_an_old_record_is_not_listed(self, registry: WorkerRegistry, host: str) -> None:
        stale = record(host)
        stale = dataclasses.replace(
            stale, heartbeat=stale.heartbeat - datetime.timedelta(seconds=60)
        )
        await registry.publish(stale)
        assert await self.mine(registry, host) == []
        await registry.remove(stale.id)
