"""``taskiq cancel APP ID``: ask that a task never starts, or stops if it runs.

It prints what happened (`taskiq.control.cancellation.CancelOutcome`); ``--json``
prints ``{"task_id": ..., "outcome": ...}``. Exit codes: 0 the task is (or will be)
cancelled (``requested``, ``already_cancelled``); 1 it is not: it had already
finished, or the id is unknown (a typo, or its state expired; the request is stored
anyway, so the task does not start if it comes), or the backend failed; 2 the
result backend cannot hold claims.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import EXIT_FAILED, OpsCommand
from taskiq.cli.ops.output import Output
from taskiq.control.cancellation import CancelOutcome, request_cancel

_SAID = {
    CancelOutcome.REQUESTED: "cancellation requested (it will not start; a running "
    "task is told within about a second)",
    CancelOutcome.ALREADY_CANCELLED: "already cancelled",
    CancelOutcome.ALREADY_FINISHED: "already finished; nothing to cancel",
    CancelOutcome.UNKNOWN: "unknown to the result backend (never sent, sent with task "
    "states off, or expired); the request is stored, so it will not start if it comes",
}
_CANCELLED = {CancelOutcome.REQUESTED, CancelOutcome.ALREADY_CANCELLED}


class CancelCMD(OpsCommand):
    """Cancel one task by id."""

    name = "cancel"
    short_help = "Cancel a task: it never starts, or stops if it runs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The task id (``task.task_id`` of what ``kiq`` returned)."""
        parser.add_argument("task_id", help="The id of the task to cancel.")

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Store the request (unless the task is finished) and say what happened."""
        outcome = await request_cancel(broker, args.task_id)
        if out.as_json:
            out.json({"task_id": args.task_id, "outcome": outcome.value})
        elif outcome in _CANCELLED:
            out.line(f"Task {args.task_id}: {_SAID[outcome]}.")
        else:
            out.error(f"taskiq cancel: task {args.task_id!r} is {_SAID[outcome]}.")
        return 0 if outcome in _CANCELLED else EXIT_FAILED
