"""The claims contract suite: one set of tests every `ClaimStore` must pass.

A package subclasses `ClaimContract` in its tests and overrides the ``broker``
fixture: a started broker whose result backend holds claims. Every key the suite
uses has a random suffix, so it can run beside other users of the same server.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from taskiq.abc.broker import AsyncBroker
from taskiq.control.claims import ClaimStore, claims_of
from taskiq.testing.worker_registry_contract import eventually


class ClaimContract:
    """Subclass and override ``broker`` to test a result backend's claims."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker whose result backend holds claims; override it."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def store(self, broker: AsyncBroker) -> ClaimStore:
        return claims_of(broker, "the claims contract")

    @pytest.fixture
    def key(self) -> str:
        return f"contract:{uuid.uuid4().hex[:12]}"

    async def test_a_free_key_is_taken_and_a_second_owner_is_told_who_holds_it(
        self, store: ClaimStore, key: str
    ) -> None:
        assert await store.holder(key) is None
        assert await store.claim(key, "alice", 30) == "alice"
        assert await store.claim(key, "bob", 30) == "alice"
        assert await store.holder(key) == "alice"
        assert await store.release(key, "alice")

    async def test_claiming_again_as_the_holder_keeps_it(self, store: ClaimStore, key: str) -> None:
        assert await store.claim(key, "alice", 30) == "alice"
        assert await store.claim(key, "alice", 30) == "alice"
        assert await store.release(key, "alice")
        assert await store.holder(key) is None

    async def test_only_the_holder_renews_or_releases(self, store: ClaimStore, key: str) -> None:
        await store.claim(key, "alice", 30)
        assert not await store.renew(key, "bob", 30)
        assert not await store.release(key, "bob")
        assert await store.renew(key, "alice", 30)
        assert await store.release(key, "alice")
        assert not await store.release(key, "alice")  # already free
        assert not await store.renew(key, "alice", 30)

    async def test_an_unrenewed_claim_expires_and_the_key_is_free_again(
        self, store: ClaimStore, key: str
    ) -> None:
        await store.claim(key, "alice", 0.3)

        async def free() -> bool:
            return await store.holder(key) is None

        await eventually(free)
        assert await store.claim(key, "bob", 30) == "bob"
        assert not await store.renew(key, "alice", 30)
        assert await store.release(key, "bob")

    async def test_a_renewed_claim_outlives_its_first_ttl(
        self, store: ClaimStore, key: str
    ) -> None:
        await store.claim(key, "alice", 1.0)
        for _ in range(3):
            await asyncio.sleep(0.5)
            assert await store.renew(key, "alice", 1.0)
        assert await store.holder(key) == "alice"
        assert await store.release(key, "alice")

    async def test_of_many_concurrent_claims_exactly_one_wins(
        self, store: ClaimStore, key: str
    ) -> None:
        owners = [f"owner{n}" for n in range(20)]
        holders = await asyncio.gather(*(store.claim(key, owner, 30) for owner in owners))
        assert len(set(holders)) == 1
        assert holders[0] in owners
        assert await store.release(key, holders[0])

    async def test_a_ttl_below_a_millisecond_is_refused(self, store: ClaimStore, key: str) -> None:
        with pytest.raises(ValueError, match=r"at least 0\.001 s"):
            await store.claim(key, "alice", 0)
