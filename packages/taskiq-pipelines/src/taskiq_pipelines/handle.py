"""`PipelineTask`: the handle ``Pipeline.kiq`` returns, on the last step's result.

It is an `AsyncTaskiqTask`, so ``wait_result()`` works as for any task; it
also knows every step's task id (``step_ids``), reports where the workflow
is (`state`), and can cancel what has not finished (`cancel_workflow`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from taskiq.result import TaskiqResult
from taskiq.task import AsyncTaskiqTask

from taskiq_pipelines.state import WorkflowState, read_state
from taskiq_pipelines.state import cancel_workflow as cancel_steps
from taskiq_pipelines.steps import Step

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker

R = TypeVar("R")


class PipelineTask(AsyncTaskiqTask[R]):
    """A sent pipeline; ``task_id`` is its last step's id, under which its result appears."""

    def __init__(self, broker: AsyncBroker, pipeline_id: str, steps: tuple[Step, ...]) -> None:
        last = steps[-1].task_id
        assert last is not None
        backend: Any = broker.result_backend
        super().__init__(last, backend)
        self.broker = broker
        self.pipeline_id = pipeline_id
        self.steps = steps

    async def get_result(self, with_logs: bool = False) -> TaskiqResult[R]:
        """The last step's result; a group's list comes back as the tuple its type says.

        (A JSON result backend stores tuples as lists.)
        """
        result = await super().get_result(with_logs=with_logs)
        if self.steps[-1].kind == "group" and isinstance(result.return_value, list):
            return result.model_copy(update={"return_value": tuple(result.return_value)})
        return result

    @property
    def step_ids(self) -> list[str]:
        """The task id of every step, in order (a fan-in step's aggregate id)."""
        return [step.task_id for step in self.steps if step.task_id is not None]

    async def state(self) -> WorkflowState:
        """Every step's status and, for fan-in steps, how many members finished."""
        return await read_state(self.broker, self.pipeline_id, self.steps)

    async def cancel_workflow(self) -> list[str]:
        """Stop the workflow: no further step is sent; return the ids of unfinished steps.

        (Named apart from ``cancel()``, which cancels one task: the last step's.)

        The workflow's result becomes a `PipelineCancelledError`. Steps already
        running are cancelled too when the broker can (``broker.cancel``).
        """
        return await cancel_steps(self.broker, self.pipeline_id, self.steps)

    def __repr__(self) -> str:
        return f"PipelineTask(pipeline_id={self.pipeline_id!r}, task_id={self.task_id!r})"
