"""The core control-plane contract suites, run against the SQLite broker and backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from taskiq.testing.claim_contract import ClaimContract
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue
from taskiq.testing.queue_contract import QueueContract
from taskiq.testing.snippets import python_blocks
from taskiq.testing.task_state_contract import TaskStateContract
from taskiq.testing.worker_registry_contract import WorkerRegistryContract
from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend


class OnSQLite:
    """The ``broker`` every suite runs on: a started worker-side broker, results in the file."""

    @pytest.fixture
    async def broker(self, db_file: str) -> AsyncIterator[SQLiteBroker]:
        started = SQLiteBroker(db_file).with_result_backend(SQLiteResultBackend(db_file))
        started.is_worker_process = True
        await started.startup()
        yield started
        await started.shutdown()


class TestSQLiteDeadLetters(OnSQLite, DeadLetterContract):
    @pytest.fixture
    def worker_app(self, db_file: str) -> str:
        return f"from taskiq_sqlite import SQLiteBroker\nbroker = SQLiteBroker({db_file!r})\n"

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        page = Path(__file__).parents[3] / "docs" / "brokers" / "sqlite.md"
        found = python_blocks(page, "page = await store.list(limit=100)")
        assert found, page
        return [(str(page), code) for code in found]

    @pytest.fixture
    async def other_queue(self, db_file: str) -> AsyncIterator[OtherQueue]:
        other = SQLiteBroker(db_file, queue_name="other")
        other.is_worker_process = True
        await other.startup()
        yield OtherQueue("other", other)
        await other.shutdown()


class TestSQLiteQueues(OnSQLite, QueueContract):
    pass


class TestSQLiteTaskStates(TaskStateContract):
    @pytest.fixture
    async def backend(self, db_file: str) -> AsyncIterator[SQLiteResultBackend[object]]:
        backend: SQLiteResultBackend[object] = SQLiteResultBackend(db_file)
        await backend.startup()
        yield backend
        await backend.shutdown()


class TestSQLiteWorkerRegistry(OnSQLite, WorkerRegistryContract):
    pass


class TestSQLiteClaims(OnSQLite, ClaimContract):
    pass
