"""Pipelines on InMemoryBroker: the README example, each step kind, failures, state, dumps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pipeline_tasks import Tasks, register
from taskiq import InMemoryBroker
from taskiq.control.task_states import TaskStatus
from taskiq.result_backends.inmemory import InmemoryResultBackend
from taskiq_pipelines import (
    Group,
    Pipeline,
    PipelineCancelledError,
    PipelineError,
    PipelineMiddleware,
    chain,
)


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


async def test_call_next_param_name_and_call_after(broker: InMemoryBroker, tasks: Tasks) -> None:
    pipe = (
        Pipeline(broker, tasks.add_one)
        .call_next(tasks.repeat, param_name="value", reps=2)
        .call_after(tasks.add_one, value=10)
    )
    task = await pipe.kiq(1)
    assert (await task.wait_result(timeout=10)).return_value == 11
    first = await broker.result_backend.get_result(task.step_ids[1])
    assert first.return_value == [2, 2]


async def test_chain_function(broker: InMemoryBroker, tasks: Tasks) -> None:
    task = await chain(tasks.add_one, tasks.to_text).kiq(4)
    assert (await task.wait_result(timeout=10)).return_value == "#5"


async def test_chord_group_then_callback(broker: InMemoryBroker, tasks: Tasks) -> None:
    group = Group().add(tasks.add_one).add(tasks.to_text).add(tasks.repeat, reps=2)
    task = await Pipeline(broker, tasks.add_one).group(group).call_next(tasks.describe).kiq(1)
    assert (await task.wait_result(timeout=10)).return_value == "3 #2 [2, 2]"


async def test_group_as_last_step_returns_tuple(broker: InMemoryBroker, tasks: Tasks) -> None:
    group = Group().add(tasks.add_one).add(tasks.to_text)
    task = await Pipeline(broker, tasks.add_one).group(group).kiq(1)
    assert (await task.wait_result(timeout=10)).return_value == (3, "#2")


async def test_failed_step_fails_workflow_with_its_error_and_id(
    broker: InMemoryBroker, tasks: Tasks
) -> None:
    pipe = Pipeline(broker, tasks.fail_on).call_next(tasks.add_one).call_next(tasks.add_one)
    task = await pipe.kiq(3)
    result = await task.wait_result(timeout=10)
    assert result.is_err
    assert isinstance(result.error, PipelineError)
    assert result.error.step == 0
    assert result.error.task_id == task.step_ids[0]
    assert result.error.error == "ValueError: bad value 3"
    state = await task.state()
    assert state.status is TaskStatus.FAILED
    assert state.steps[0].status is TaskStatus.FAILED


async def test_failed_map_member_fails_with_member_id_and_sends_on_error(
    broker: InMemoryBroker, tasks: Tasks
) -> None:
    pipe = Pipeline(broker, tasks.repeat).map(tasks.fail_on, on_error=tasks.record_failure)
    task = await pipe.call_next(tasks.total).kiq(3, reps=3)
    result = await task.wait_result(timeout=10)
    assert isinstance(result.error, PipelineError)
    assert result.error.step == 1
    assert result.error.task_id == f"{task.step_ids[1]}.0"
    await broker.wait_all()
    assert len(tasks.seen) == 1
    assert tasks.seen[0]["task_id"] == result.error.task_id
    assert tasks.seen[0]["error"] == "ValueError: bad value 3"


async def test_skip_errors_in_map_filter_and_group(broker: InMemoryBroker, tasks: Tasks) -> None:
    mapped = await Pipeline(broker, tasks.repeat).map(tasks.fail_on, skip_errors=True).kiq(3, 2)
    assert (await mapped.wait_result(timeout=10)).return_value == []
    group = Group(skip_errors=True).add(tasks.fail_on).add(tasks.add_one)
    grouped = await Pipeline(broker, tasks.add_one).group(group).kiq(2)
    assert (await grouped.wait_result(timeout=10)).return_value == (None, 4)


async def test_chord_error_callback(broker: InMemoryBroker, tasks: Tasks) -> None:
    group = Group().add(tasks.add_one).add(tasks.fail_on)
    pipe = Pipeline(broker, tasks.add_one).group(group, on_error=tasks.record_failure)
    task = await pipe.call_next(tasks.describe).kiq(2)
    result = await task.wait_result(timeout=10)
    assert isinstance(result.error, PipelineError)
    assert result.error.task_id == f"{task.step_ids[1]}.1"
    await broker.wait_all()
    assert [failure["step"] for failure in tasks.seen] == [1]
    assert (await task.state()).steps[1].status is TaskStatus.FAILED


async def test_map_of_empty_input_and_of_non_iterable(broker: InMemoryBroker, tasks: Tasks) -> None:
    empty = await Pipeline(broker, tasks.repeat).map(tasks.add_one).kiq(1, reps=0)
    assert (await empty.wait_result(timeout=10)).return_value == []
    bad = await Pipeline(broker, tasks.add_one).map(tasks.add_one).kiq(1)  # type: ignore[misc]
    result = await bad.wait_result(timeout=10)
    assert isinstance(result.error, PipelineError)
    assert "needs an iterable input, not int" in result.error.error


async def test_task_ids_known_after_kiq_and_state(broker: InMemoryBroker, tasks: Tasks) -> None:
    pipe = Pipeline(broker, tasks.repeat).map(tasks.add_one).call_next(tasks.total)
    task = await pipe.kiq(1, reps=5)
    assert len(set(task.step_ids)) == 3
    assert (await task.wait_result(timeout=10)).return_value == 10
    state = await task.state()
    assert [step.status for step in state.steps] == [TaskStatus.SUCCEEDED] * 3
    assert state.steps[1].members_done == 5
    assert state.current is None
    record = await broker.result_backend.get_task_state(task.step_ids[1])
    assert record is not None
    assert record.status is TaskStatus.SUCCEEDED


async def test_dumps_and_loads(broker: InMemoryBroker, tasks: Tasks) -> None:
    pipe = Pipeline(broker, tasks.add_one).call_next(tasks.repeat, reps=2).map(tasks.add_one)
    loaded = Pipeline.loads(broker, pipe.dumps())
    assert loaded.dumps() == pipe.dumps()
    task = await loaded.kiq(1)
    assert (await task.wait_result(timeout=10)).return_value == [3, 3]


def test_bad_input_has_clear_errors(broker: InMemoryBroker, tasks: Tasks) -> None:
    with pytest.raises(ValueError, match="Not a serialized pipeline"):
        Pipeline.loads(broker, "{not json")
    with pytest.raises(ValueError, match="format version"):
        Pipeline.loads(broker, '{"version": 99, "steps": []}')
    with pytest.raises(ValueError, match="cannot start with a map step"):
        Pipeline(broker).map(tasks.add_one)
    with pytest.raises(ValueError, match="at least one task"):
        Pipeline(broker, tasks.add_one).group(Group())
    with pytest.raises(ValueError, match="state_ttl"):
        PipelineMiddleware(state_ttl=0)


async def test_kiq_of_empty_pipeline(broker: InMemoryBroker) -> None:
    with pytest.raises(ValueError, match="no steps"):
        await Pipeline(broker).kiq()


async def test_cancel_stops_the_steps_not_yet_finished(
    broker: InMemoryBroker, tasks: Tasks
) -> None:
    pipe = Pipeline(broker, tasks.slow).call_next(tasks.add_one).call_next(tasks.add_one)
    task = await pipe.kiq(1, seconds=0.3)
    cancelled = await task.cancel_workflow()
    assert cancelled == task.step_ids
    result = await task.wait_result(timeout=10)
    assert isinstance(result.error, PipelineCancelledError)
    await broker.wait_all()
    assert (await broker.result_backend.get_result(task.step_ids[0])).return_value == 1
    assert not await broker.result_backend.is_result_ready(task.step_ids[1])
    state = await task.state()
    assert [step.status for step in state.steps][1:] == [TaskStatus.CANCELLED] * 2


async def test_a_step_that_cannot_be_sent_fails_the_workflow(
    broker: InMemoryBroker, tasks: Tasks
) -> None:
    pipe = Pipeline(broker, tasks.add_one).call_next(tasks.add_one, unknown=1)
    task = await pipe.kiq(1)
    result = await task.wait_result(timeout=10)
    assert isinstance(result.error, PipelineError)
    assert result.error.step == 1
    assert result.error.task_id == task.step_ids[1]
    assert result.error.error.startswith("SendTaskError: Arguments do not match task")


async def test_a_failed_last_step_stores_the_pipeline_error(
    broker: InMemoryBroker, tasks: Tasks
) -> None:
    task = await Pipeline(broker, tasks.add_one).call_next(tasks.fail_on).kiq(2)
    result = await task.wait_result(timeout=10)
    assert isinstance(result.error, PipelineError)
    assert (result.error.step, result.error.task_id) == (1, task.step_ids[1])
    assert result.error.error == "ValueError: bad value 3"


async def test_filter_after_a_map_with_skip_errors(broker: InMemoryBroker, tasks: Tasks) -> None:
    pipe = (
        Pipeline(broker, tasks.numbers)
        .map(tasks.add_one)
        .filter(tasks.fail_on, skip_errors=True, bad=3)
    )
    task = await pipe.kiq(5)
    assert (await task.wait_result(timeout=10)).return_value == [1, 2, 4, 5]
