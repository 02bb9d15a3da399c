"""The behaviour every `PaceStore` promises; a backend's tests subclass `PaceContract`."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from taskiq.control.pacing import PaceStore


class PaceContract:
    """Subclass and define the ``pace_store`` fixture (a fresh store on a live backend)."""

    @pytest.fixture
    def key(self) -> str:
        return f"pace-{uuid.uuid4().hex}"

    async def test_an_idle_key_starts_now(self, pace_store: PaceStore, key: str) -> None:
        assert await pace_store.reserve(key, 10.0) <= 0.05

    async def test_turns_are_spaced_by_the_interval(self, pace_store: PaceStore, key: str) -> None:
        waits = [await pace_store.reserve(key, 10.0) for _ in range(3)]
        assert waits[0] <= 0.05
        assert 9.5 <= waits[1] <= 10.05
        assert 19.5 <= waits[2] <= 20.05

    async def test_concurrent_callers_get_distinct_turns(
        self, pace_store: PaceStore, key: str
    ) -> None:
        waits = await asyncio.gather(*(pace_store.reserve(key, 5.0) for _ in range(10)))
        turns = sorted(round(wait / 5.0) for wait in waits)
        assert turns == list(range(10))

    async def test_keys_do_not_share_turns(self, pace_store: PaceStore, key: str) -> None:
        await pace_store.reserve(key, 10.0)
        assert await pace_store.reserve(key + "-other", 10.0) <= 0.05

    async def test_turns_are_not_saved_up(self, pace_store: PaceStore, key: str) -> None:
        await pace_store.reserve(key, 0.2)
        await asyncio.sleep(0.5)
        assert await pace_store.reserve(key, 0.2) <= 0.05
        assert await pace_store.reserve(key, 0.2) >= 0.1
