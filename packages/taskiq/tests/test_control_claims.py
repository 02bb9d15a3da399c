"""Claims on the in-memory result backend, and a backend that cannot hold them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from taskiq import InMemoryBroker
from taskiq.control.claims import claims_of
from taskiq.exceptions import NotSupportedError
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.testing.claim_contract import ClaimContract


class TestInmemoryClaims(ClaimContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[InMemoryBroker]:
        broker = InMemoryBroker()
        await broker.startup()
        yield broker
        await broker.shutdown()


def test_a_backend_without_claims_is_named_with_the_feature_that_needs_them() -> None:
    broker = InMemoryBroker().with_result_backend(DummyResultBackend())
    with pytest.raises(NotSupportedError, match="Cannot use unique tasks: the result backend"):
        claims_of(broker, "unique tasks")
