"""The core's control-plane contract suites, run against the PostgreSQL broker and backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pg_conftest_helpers import worker_app_source
from taskiq.testing.claim_contract import ClaimContract
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue
from taskiq.testing.queue_contract import QueueRoutingContract
from taskiq.testing.snippets import python_blocks
from taskiq.testing.task_state_contract import TaskStateContract
from taskiq.testing.worker_registry_contract import WorkerRegistryContract
from taskiq_pg.asyncpg import AsyncpgBroker, AsyncpgResultBackend

pytestmark = pytest.mark.service("postgres")


class OnPostgres:
    """The suites' ``broker``: a started `AsyncpgBroker` on fresh tables."""

    @pytest.fixture
    def broker(self, pg_broker: AsyncpgBroker) -> AsyncpgBroker:
        return pg_broker


class TestDeadLetters(OnPostgres, DeadLetterContract):
    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        page = Path(__file__).parents[3] / "docs" / "brokers" / "postgres.md"
        found = python_blocks(page, "page = await store.list(limit=100)")
        assert found, page
        return [(str(page), code) for code in found]

    @pytest.fixture
    async def other_queue(self, pg_dsn: str, prefix: str) -> AsyncIterator[OtherQueue]:
        other = AsyncpgBroker(
            pg_dsn, table_name=f"{prefix}_messages", queue_name="other", poll_interval=0.2
        )
        other.is_worker_process = True
        await other.startup()
        yield OtherQueue("other", other)
        await other.shutdown()

    @pytest.fixture
    def worker_app(self, pg_dsn: str, prefix: str) -> str:
        return worker_app_source(pg_dsn, prefix)


class TestQueues(OnPostgres, QueueRoutingContract):
    @pytest.fixture
    def routed_queue(self) -> str:
        return "routed"


class TestClaims(OnPostgres, ClaimContract):
    pass


class TestWorkers(OnPostgres, WorkerRegistryContract):
    pass


class TestTaskStates(TaskStateContract):
    @pytest.fixture
    async def backend(
        self, pg_dsn: str, prefix: str
    ) -> AsyncIterator[AsyncpgResultBackend[object]]:
        backend: AsyncpgResultBackend[object] = AsyncpgResultBackend(
            pg_dsn, table_name=f"{prefix}_results"
        )
        await backend.startup()
        yield backend
        await backend.shutdown()
