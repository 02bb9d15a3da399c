"""`PipelineMiddleware`: add it to the broker of every worker and client that runs pipelines."""

from __future__ import annotations

from typing import Any

from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.message import TaskiqMessage
from taskiq.result import TaskiqResult

from taskiq_pipelines.runner import step_finished, wrap_last_error

#: How long fan-in sets are kept after their newest member arrived (seconds).
DEFAULT_STATE_TTL = 7 * 24 * 3600.0


class PipelineMiddleware(TaskiqMiddleware):
    """Sends a pipeline's next step when a step's result is stored (``post_save``).

    The result backend must be shared by all workers; map, filter and group
    steps also need one that can count their members (Redis, in-memory).
    ``state_ttl`` bounds how long a fan-in may take: its set expires that many
    seconds after its newest member arrived.
    """

    def __init__(self, state_ttl: float = DEFAULT_STATE_TTL) -> None:
        if not state_ttl > 0:
            raise ValueError(f"state_ttl must be a positive number of seconds, not {state_ttl!r}.")
        self.state_ttl = state_ttl

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """A failed last step stores the workflow's `PipelineError`, not its bare error."""
        wrap_last_error(message, result)

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Advance the workflow the finished task belongs to, if any."""
        await step_finished(self.broker, message, result, self.state_ttl)
