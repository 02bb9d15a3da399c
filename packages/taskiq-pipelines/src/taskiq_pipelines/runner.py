"""What happens when a step's result is stored: send the next step, fan in, or fail.

`PipelineMiddleware` calls `step_finished` from ``post_save`` in the worker that
ran the step, so the workflow advances without any process waiting for it:

- a sequential step that succeeded sends the next step with its result;
- a member of a fan-in step arrives at the step's fan-in set; only the member
  that completes the set (`taskiq_pipelines.fan_in`) reads the members'
  results, stores the combined result under the step's id and goes on;
- a failure stores a `PipelineError` (step, task id, error) as the workflow's
  result and sends the step's ``on_error`` task, if any;
- a cancelled workflow (`taskiq_pipelines.state`) sends nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.control.task_states import TaskStatus, TaskTransition, record
from taskiq.driver_errors import one_line
from taskiq.exceptions import NoResultError
from taskiq.message import TaskiqMessage
from taskiq.result import TaskiqResult

from taskiq_pipelines import labels
from taskiq_pipelines.combine import Failure, combine
from taskiq_pipelines.exceptions import PipelineError
from taskiq_pipelines.fan_in import fan_in_of
from taskiq_pipelines.sender import send_call, send_members
from taskiq_pipelines.state import is_cancelled
from taskiq_pipelines.steps import Step, loads_steps

logger = logging.getLogger("taskiq_pipelines")

#: Member results read at once by the member that fans in.
READ_BATCH = 500


async def step_finished(
    broker: AsyncBroker,
    message: TaskiqMessage,
    result: TaskiqResult[Any],
    ttl: float,
) -> None:
    """Advance the workflow ``message`` belongs to (nothing if it belongs to none)."""
    text = message.labels.get(labels.PIPELINE)
    if not text:
        return
    try:
        pipeline_id, steps = loads_steps(text)
        index = int(message.labels[labels.STEP])
        steps[index]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        logger.error(
            "Task %s carries a broken pipeline label (%s); the workflow stops.",
            message.task_id,
            exc,
        )
        return
    run = Run(broker, str(pipeline_id), steps, text, ttl)
    if labels.MEMBER in message.labels:
        member = int(message.labels[labels.MEMBER])
        await run.member_finished(index, member, int(message.labels[labels.MEMBERS]))
    elif result.is_err:
        await run.fail(index, message.task_id, result.error, stored=True)
    else:
        await run.advance(index, result.return_value)


def wrap_last_error(message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
    """Before the last step's result is stored: its error becomes the `PipelineError`.

    So whoever waits on the workflow never sees the bare error first. Members and
    earlier steps keep their own errors; a retried attempt (`NoResultError`) is left.
    """
    error = result.error
    if error is None or isinstance(error, NoResultError) or labels.MEMBER in message.labels:
        return
    text = message.labels.get(labels.PIPELINE)
    if not text:
        return
    try:
        _, steps = loads_steps(text)
        index = int(message.labels[labels.STEP])
    except (ValueError, KeyError, TypeError):
        return  # `step_finished` logs the broken label
    if index == len(steps) - 1:
        result.error = _pipeline_error(steps[index], index, message.task_id, error)


def _pipeline_error(
    step: Step, index: int, task_id: str, error: BaseException | None
) -> PipelineError:
    return PipelineError(
        step=index,
        task_id=task_id,
        task_name=step.describe(),
        error=one_line(error) if error is not None else "unknown error",
    )


@dataclass
class Run:
    """One workflow, as the labels of a finished step describe it."""

    broker: AsyncBroker
    pipeline_id: str
    steps: tuple[Step, ...]
    text: str
    ttl: float

    async def advance(self, index: int, value: Any) -> None:
        """Step ``index`` produced ``value``: send the next step, if there is one."""
        if index + 1 >= len(self.steps) or await is_cancelled(self.broker, self.pipeline_id):
            return
        step = self.steps[index + 1]
        assert step.task_id is not None
        try:
            await self._send(index + 1, step, value)
        except Exception as exc:  # the broker refused it, or the input does not fit
            await self.fail(index + 1, step.task_id, exc)

    async def _send(self, index: int, step: Step, value: Any) -> None:
        assert step.task_id is not None
        step_labels = {labels.PIPELINE: self.text, labels.STEP: str(index)}
        if not step.is_fan_in:
            args, kwargs = step.call.arguments(value)
            await send_call(self.broker, step.call, step.task_id, step_labels, args, kwargs)
            return
        inputs = _inputs(step, value)
        if inputs:
            await send_members(self.broker, step, step_labels, inputs)
        else:
            await self._succeed(index, [])

    async def member_finished(self, index: int, member: int, total: int) -> None:
        """A member of fan-in step ``index`` finished; the last one combines and goes on."""
        step = self.steps[index]
        assert step.task_id is not None
        store = fan_in_of(self.broker)
        if not await store.arrive(step.task_id, member, total, self.ttl):
            return
        if await is_cancelled(self.broker, self.pipeline_id):
            return
        try:
            results = await self._member_results(step, total)
            items = await self._items(index) if step.kind == "filter" else None
        except Exception as exc:
            logger.error(
                "Step %s of pipeline %s cannot read its inputs: %s",
                index,
                self.pipeline_id,
                one_line(exc),
            )
            await self.fail(index, step.task_id, exc)
            return
        outcome = combine(step, results, items)
        if isinstance(outcome, Failure):
            await self.fail(index, step.member_id(outcome.member), outcome.error)
            return
        await self._succeed(index, outcome)

    async def fail(
        self, index: int, task_id: str, error: BaseException | None, stored: bool = False
    ) -> None:
        """Step ``index`` failed in ``task_id``: the workflow fails with that error.

        ``stored``: the worker stored that task's own (for a last step: wrapped) error.
        """
        step = self.steps[index]
        failure = error if isinstance(error, PipelineError) else None
        if failure is None or failure.task_id != task_id:
            failure = _pipeline_error(step, index, task_id, error)
        logger.warning("Pipeline %s failed: %s", self.pipeline_id, failure)
        if step.on_error is not None and step.task_id is not None:
            await self._send_on_error(step, failure)
        # The last step's id holds the workflow's result (see `wrap_last_error`).
        targets = {self.steps[-1].task_id, step.task_id if step.is_fan_in else None}
        if stored:
            targets.discard(task_id)
        for target in sorted(t for t in targets if t is not None):
            await self._store(target, _failed(failure))

    async def _succeed(self, index: int, value: Any) -> None:
        step = self.steps[index]
        assert step.task_id is not None
        await self._store(
            step.task_id, TaskiqResult(is_err=False, return_value=value, execution_time=0.0)
        )
        await self.advance(index, value)

    async def _store(self, task_id: str, result: TaskiqResult[Any]) -> None:
        status = TaskStatus.FAILED if result.is_err else TaskStatus.SUCCEEDED
        error = None if result.error is None else one_line(result.error)
        await record(self.broker, task_id, TaskTransition.now(status, error=error))
        await self.broker.result_backend.set_result(task_id, result)

    async def _send_on_error(self, step: Step, failure: PipelineError) -> None:
        assert step.on_error is not None
        details = {
            "pipeline_id": self.pipeline_id,
            "step": failure.step,
            "task_id": failure.task_id,
            "task_name": failure.task_name,
            "error": failure.error,
        }
        try:
            await send_call(
                self.broker,
                _on_error_call(step.on_error),
                f"{step.task_id}.on_error",
                {},
                [details],
                {},
            )
        except Exception as exc:
            logger.error(
                "Could not send the on_error task %s of pipeline %s: %s",
                step.on_error,
                self.pipeline_id,
                one_line(exc),
            )

    async def _member_results(self, step: Step, total: int) -> list[TaskiqResult[Any]]:
        backend = self.broker.result_backend
        results: list[TaskiqResult[Any]] = []
        for start in range(0, total, READ_BATCH):
            ids = [step.member_id(i) for i in range(start, min(total, start + READ_BATCH))]
            results.extend(await asyncio.gather(*(backend.get_result(i) for i in ids)))
        return results

    async def _items(self, index: int) -> list[Any]:
        previous = self.steps[index - 1].task_id
        assert previous is not None
        result = await self.broker.result_backend.get_result(previous)
        return list(result.return_value)


def _inputs(step: Step, value: Any) -> list[tuple[Any, Any]]:
    if step.kind == "group":
        return [(call, value) for call in step.calls]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(
            f"{step.describe()} needs an iterable input, not {type(value).__name__}.",
        ) from None
    return [(step.call, item) for item in items]


def _on_error_call(task_name: str) -> Any:
    from taskiq_pipelines.steps import AFTER, Call

    return Call(task_name, (), {}, AFTER)


def _failed(error: BaseException) -> TaskiqResult[Any]:
    return TaskiqResult(is_err=True, return_value=None, execution_time=0.0, error=error)
