"""``taskiq task APP ID``: where one task is (its state and timeline) and its result or error.

Exit codes: 0 the task is known; 1 it is not (one line on standard error: never sent,
sent with states off, or its state expired with its result); 2 the result backend keeps
no task states.
"""

from __future__ import annotations

import datetime
from argparse import ArgumentParser, Namespace
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import EXIT_FAILED, OpsCommand
from taskiq.cli.ops.output import Output
from taskiq.control.task_states import TaskStateRecord, TaskTransition, task_states_of
from taskiq.exceptions import TaskiqError


class TaskCMD(OpsCommand):
    """Show the state, timeline and result (or error) of one task."""

    name = "task"
    short_help = "Show a task's state, timeline and result or error."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The task id (``task.task_id`` of what ``kiq`` returned)."""
        parser.add_argument("task_id", help="The id of the task.")

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Read the state; then the result, once the task has one."""
        backend = broker.result_backend
        record = await task_states_of(backend).get_task_state(args.task_id)
        if record is None:
            out.error(
                f"taskiq task: no task {args.task_id!r} is known to {type(backend).__name__} "
                "(never sent, sent with task states off, or expired with its result).",
            )
            return EXIT_FAILED
        result = await _result_of(broker, args.task_id)
        if out.as_json:
            out.json({**record.to_json(), "result": result})
        else:
            _print(out, record, result)
        return 0


async def _result_of(broker: AsyncBroker, task_id: str) -> dict[str, Any] | None:
    """The stored result as JSON-able data; None while there is none."""
    backend = broker.result_backend
    try:
        if not await backend.is_result_ready(task_id):
            return None
        result = await backend.get_result(task_id)
    except TaskiqError as exc:
        return {"unreadable": str(exc)}
    error = result.error
    return {
        "is_err": result.is_err,
        "return_value": result.return_value,
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "execution_time": result.execution_time,
    }


def _print(out: Output, record: TaskStateRecord, result: dict[str, Any] | None) -> None:
    current = record.current
    details = [f"attempt {record.attempt}"] if record.attempt is not None else []
    if record.worker is not None:
        details.append(f"worker {record.worker}")
    if current.next_run is not None:
        details.append(f"next run {_time(current.next_run)} UTC")
    suffix = f" ({', '.join(details)})" if details else ""
    out.line(f"Task {record.task_id}: {record.status.value}{suffix}")
    out.table(
        "Timeline",
        ["time (UTC)", "state", "worker", "attempt", "detail"],
        [_row(step) for step in record.timeline],
    )
    out.line(_result_line(result))


def _row(step: TaskTransition) -> list[Any]:
    detail = step.error
    if step.next_run is not None:
        detail = f"next run {_time(step.next_run)}; {detail}"
    return [_time(step.time), step.status.value, step.worker, step.attempt, detail]


def _time(moment: datetime.datetime) -> str:
    """UTC to the millisecond, short enough for a table (``--json`` has the full value)."""
    utc = moment.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _result_line(result: dict[str, Any] | None) -> str:
    if result is None:
        return "Result: none yet"
    if "unreadable" in result:
        return f"Result: unreadable ({result['unreadable']})"
    if result["is_err"]:
        return f"Error: {result['error']}"
    return f"Result: {result['return_value']!r}"
