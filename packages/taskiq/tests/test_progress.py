"""Progress reports: set inside a task, read by the client while it runs."""

from __future__ import annotations

import asyncio
from typing import Any

from taskiq import InMemoryBroker, TaskiqDepends
from taskiq.depends.progress_tracker import ProgressTracker, TaskProgress, TaskState

DEADLINE = 20.0


async def test_client_reads_progress_set_by_the_running_task() -> None:
    broker = InMemoryBroker()
    proceed = asyncio.Event()

    @broker.task
    async def long_job(tracker: ProgressTracker[dict[str, int]] = TaskiqDepends()) -> str:
        await tracker.set_progress(TaskState.STARTED, {"done": 1, "total": 3})
        await proceed.wait()
        await tracker.set_progress("almost", {"done": 2, "total": 3})
        last = await tracker.get_progress()
        assert last is not None
        return str(last.state)

    handle = await long_job.kiq()
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while (progress := await handle.get_progress()) is None:
        assert loop.time() < end
        await asyncio.sleep(0.005)
    assert progress == TaskProgress(state=TaskState.STARTED, meta={"done": 1, "total": 3})
    proceed.set()
    result = await handle.wait_result(timeout=DEADLINE)
    assert result.return_value == "almost"
    final = await handle.get_progress()
    assert final is not None
    assert (final.state, final.meta) == ("almost", {"done": 2, "total": 3})


def test_progress_round_trips_as_json() -> None:
    progress: TaskProgress[Any] = TaskProgress(state=TaskState.SUCCESS, meta={"a": [1]})
    again = TaskProgress[Any].model_validate_json(progress.model_dump_json())
    assert again == progress
    assert again.state is TaskState.SUCCESS
