"""Where a workflow is, and cancelling it.

A workflow's state is read from the task-state contract
(`taskiq.control.task_states`): every step has its task id, fan-in steps an
aggregate id whose state the member that fans in records, and the fan-in
store counts the members that finished. ``taskiq task APP ID`` shows any of
these ids as it shows any task.

Cancelling claims ``taskiq:pipeline:cancel:<pipeline id>`` in the claim store
(`taskiq.control.claims`) for good; the middleware checks it before it sends a
step or fans in. Steps not yet finished are recorded ``cancelled`` and, when
the broker can cancel a task (``broker.cancel(task_id)``), cancelled there too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taskiq.control.claims import SupportsClaims, claims_of
from taskiq.control.task_states import (
    SupportsTaskStates,
    TaskStateRecord,
    TaskStatus,
    TaskTransition,
    record,
)
from taskiq.driver_errors import one_line
from taskiq.result import TaskiqResult

from taskiq_pipelines.exceptions import PipelineCancelledError
from taskiq_pipelines.fan_in import fan_in_of
from taskiq_pipelines.steps import Step

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker

logger = logging.getLogger("taskiq_pipelines")

#: How long a cancellation is remembered (seconds): longer than any workflow runs.
CANCEL_TTL = 30 * 24 * 3600.0
_CANCELLED = "cancelled"


@dataclass(frozen=True)
class StepState:
    """One step: its id, its status (None: not sent yet) and, for fan-ins, members done."""

    index: int
    name: str
    task_id: str
    status: TaskStatus | None
    members_done: int | None = None
    members: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "task_id": self.task_id,
            "status": None if self.status is None else self.status.value,
            "members_done": self.members_done,
            "members": self.members,
            "error": self.error,
        }


@dataclass(frozen=True)
class WorkflowState:
    """Every step of one workflow; ``current`` is the first step not finished."""

    pipeline_id: str
    steps: tuple[StepState, ...]

    @property
    def current(self) -> StepState | None:
        """The step the workflow is at (None once every step finished)."""
        for step in self.steps:
            if step.status is None or not step.status.is_final:
                return step
        return None

    @property
    def status(self) -> TaskStatus | None:
        """The workflow's status: failed or cancelled if a step was, else its last step's."""
        for step in self.steps:
            if step.status in {TaskStatus.FAILED, TaskStatus.CANCELLED}:
                return step.status
        return self.steps[-1].status

    def to_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "pipeline_id": self.pipeline_id,
            "status": None if status is None else status.value,
            "steps": [step.to_json() for step in self.steps],
        }


async def read_state(
    broker: AsyncBroker, pipeline_id: str, steps: tuple[Step, ...]
) -> WorkflowState:
    """The state of each step, from the task states and the fan-in store."""
    backend = broker.result_backend
    states = backend if isinstance(backend, SupportsTaskStates) else None
    cancelled = await is_cancelled(broker, pipeline_id)
    found = []
    for index, step in enumerate(steps):
        assert step.task_id is not None
        state = None if states is None else await states.get_task_state(step.task_id)
        found.append(await _step_state(broker, index, step, state, cancelled))
    return WorkflowState(pipeline_id, tuple(found))


async def _step_state(
    broker: AsyncBroker,
    index: int,
    step: Step,
    state: TaskStateRecord | None,
    cancelled: bool,
) -> StepState:
    assert step.task_id is not None
    status = None if state is None else state.status
    if cancelled and (status is None or not status.is_final):
        status = TaskStatus.CANCELLED
    done = members = None
    if step.is_fan_in:
        done = await fan_in_of(broker).arrived(step.task_id)
        members = len(step.calls) if step.kind == "group" else None
    error = None if state is None else state.error
    return StepState(index, step.describe(), step.task_id, status, done, members, error)


async def is_cancelled(broker: AsyncBroker, pipeline_id: str) -> bool:
    """True once someone cancelled the workflow (False when the backend has no claims)."""
    backend = getattr(broker, "result_backend", None)
    if not isinstance(backend, SupportsClaims):
        return False
    return await backend.claim_store().holder(_cancel_key(pipeline_id)) == _CANCELLED


async def cancel_workflow(
    broker: AsyncBroker, pipeline_id: str, steps: tuple[Step, ...]
) -> list[str]:
    """Cancel the workflow; return the ids of the steps that had not finished."""
    claims = claims_of(broker, "cancelling a pipeline")
    await claims.claim(_cancel_key(pipeline_id), _CANCELLED, CANCEL_TTL)
    state = await read_state(broker, pipeline_id, steps)
    unfinished = [step for step in state.steps if step.status is TaskStatus.CANCELLED]
    for step in unfinished:
        await record(broker, step.task_id, TaskTransition.now(TaskStatus.CANCELLED))
        await _cancel_in_broker(broker, step.task_id)
    last = steps[-1]
    if unfinished and last.task_id is not None:
        error = PipelineCancelledError(
            step=unfinished[0].index,
            task_id=unfinished[0].task_id,
            task_name=unfinished[0].name,
            error="cancelled",
        )
        result = TaskiqResult(is_err=True, return_value=None, execution_time=0.0, error=error)
        await broker.result_backend.set_result(last.task_id, result)
    return [step.task_id for step in unfinished]


async def _cancel_in_broker(broker: AsyncBroker, task_id: str) -> None:
    cancel = getattr(broker, "cancel", None)
    if cancel is None:
        return
    try:
        await cancel(task_id)
    except Exception as exc:
        logger.warning("Could not cancel task %s of a pipeline: %s", task_id, one_line(exc))


def _cancel_key(pipeline_id: str) -> str:
    return f"taskiq:pipeline:cancel:{pipeline_id}"
