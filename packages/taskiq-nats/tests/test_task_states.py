"""Task states in the NATS KV result backend: the core contract suite on the real server."""

from __future__ import annotations

from typing import Any

import pytest
from taskiq.control.task_states import TaskStatus, TaskTransition
from taskiq.exceptions import ResultGetError
from taskiq.testing.task_state_contract import TaskStateContract
from taskiq_nats import NATSKeyValueResultBackend
from taskiq_nats.buckets import result_key


@pytest.fixture
async def kv_backend(nats_url: str, names: Any) -> Any:
    store: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url,
        bucket_name=names.bucket("states"),
    )
    await store.startup()
    yield store
    await store.shutdown()


class TestNatsTaskStates(TaskStateContract):
    @pytest.fixture
    def backend(self, kv_backend: Any) -> Any:
        return kv_backend


async def test_a_garbled_state_is_a_result_get_error(kv_backend: Any) -> None:
    await kv_backend.kv.put(result_key("state", "garbled"), b"not json")
    with pytest.raises(ResultGetError):
        await kv_backend.get_task_state("garbled")


async def test_a_state_after_a_delete_starts_a_new_timeline(kv_backend: Any) -> None:
    await kv_backend.record_task_state("again", TaskTransition.now(TaskStatus.QUEUED))
    await kv_backend.delete_result("again")
    await kv_backend.record_task_state("again", TaskTransition.now(TaskStatus.STARTED))
    record = await kv_backend.get_task_state("again")
    assert record is not None
    assert [step.status for step in record.timeline] == [TaskStatus.STARTED]
