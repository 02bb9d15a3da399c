"""Errors of workflows.

TaskiqError
└── PipelineError            a step failed: which one, its task id, its error
    ├── PipelineCancelledError   someone cancelled the workflow
    └── AbortPipeline            raised by a step to stop the workflow on purpose
"""

from __future__ import annotations

from taskiq.exceptions import TaskiqError


class PipelineError(TaskiqError):
    """The workflow failed at ``step`` (0-based), in task ``task_id`` of ``task_name``.

    ``error`` is that task's error in one line (``Type: message``). It is what
    ``wait_result()`` of the workflow returns as ``result.error``, also in
    another process: its attributes survive the result backend.
    """

    __template__ = "Step {step} ({task_name}) of the pipeline failed in task {task_id}: {error}"
    step: int
    task_id: str
    task_name: str
    error: str


class PipelineCancelledError(PipelineError):
    """The workflow was cancelled before it finished."""

    __template__ = "The pipeline was cancelled before step {step} ({task_name}) finished."


class AbortPipeline(PipelineError):  # noqa: N818 - the name taskiq-pipelines users import
    """Raise it in a step to end the workflow there; the workflow fails with it."""

    __template__ = "A step aborted the pipeline."
