"""Pipelines on InMemoryBroker: the README example, each step kind, failures, state, dumps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pipeline_tasks import Tasks, register
from taskiq import InMemoryBroker
from taskiq.result_backends.inmemory import InmemoryResultBackend
from taskiq_pipelines import Pipeline, PipelineMiddleware


@pytest.fixture
async def broker() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker().with_result_backend(InmemoryResultBackend(-1))
    broker.add_middlewares(PipelineMiddleware())
    await broker.startup()
    yield broker
    await broker.shutdown()


@pytest.fixture
def tasks(broker: InMemoryBroker) -> Tasks:
    return register(broker)


async def test_readme_example(broker: InMemoryBroker, tasks: Tasks) -> None:
    pipe = (
        Pipeline(broker, tasks.add_one)
        .call_next(tasks.repeat, reps=4)
        .map(tasks.add_one)
        .filter(tasks.check)
    )
    task = await pipe.kiq(1)
    result = await task.wait_result(timeout=10)
    assert result.return_value == [3, 3, 3, 3]
    assert len(task.step_ids) == 4
    assert task.task_id == task.step_ids[-1]
