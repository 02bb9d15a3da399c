"""``taskiq schedules APP list|next|pause|resume|delete``: the schedules of every source.

APP is the scheduler (``module:variable``, as for ``taskiq scheduler``). The
command reads the sources directly, so it works whether schedulers run or not;
a running scheduler sees a change at its next read (``--update-interval``).
``pause``/``resume`` store the schedule again with ``paused`` set, so they need
a source that stores schedules (Redis, NATS KV, ...); a read-only source (the
``schedule`` label) is changed in code, and the command says so and exits 2.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence
from typing import Any

from taskiq.abc.cmd import TaskiqCMD
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.cli.ops.base import EXIT_FAILED, EXIT_NOT_SUPPORTED
from taskiq.cli.ops.output import Output, confirm
from taskiq.cli.scheduler.run import load_scheduler
from taskiq.cli.utils import add_app_dir, import_tasks
from taskiq.exceptions import TaskiqError
from taskiq.scheduler.next_fire import fire_after, utc_now
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.scheduler.scheduler import TaskiqScheduler

logger = logging.getLogger("taskiq.cli")

COLUMNS = ("Schedule", "Task", "When", "Policies", "State", "Next fire (UTC)", "Source")
_ACTIONS = ("list", "next", "pause", "resume", "delete")

_Found = list[tuple[ScheduleSource, ScheduledTask]]


class SchedulesCMD(TaskiqCMD):
    """List, inspect, pause, resume and delete schedules."""

    short_help = "List, pause, resume or delete schedules (every source)."

    def exec(self, args: Sequence[str]) -> int:
        """Parse, import the scheduler, run the action; errors become one line and a code."""
        namespace = build_parser().parse_args(list(args))
        out = Output(as_json=namespace.json)
        try:
            add_app_dir(namespace.app_dir)
            scheduler = load_scheduler(namespace.app)
            import_tasks(namespace.tasks or [], [], False, namespace.app_dir)
            return asyncio.run(_run(scheduler, namespace, out))
        except (TaskiqError, OSError, ValueError) as exc:
            logger.debug("taskiq schedules failed", exc_info=exc)
            out.error(f"taskiq schedules: {exc}")
            return EXIT_FAILED


def build_parser() -> ArgumentParser:
    """``APP ACTION [ID]`` and the shared options."""
    parser = ArgumentParser(prog="taskiq schedules", description=SchedulesCMD.short_help)
    parser.add_argument("app", help="The scheduler, as module:variable (as for taskiq scheduler).")
    parser.add_argument("action", choices=_ACTIONS, help="What to do.")
    parser.add_argument("schedule_id", nargs="?", help="The schedule (for all but list).")
    parser.add_argument("--app-dir", default=None, help="Directory to import APP from.")
    parser.add_argument("--tasks", action="append", help="Module of tasks to import (repeat).")
    parser.add_argument("--count", type=int, default=5, help="How many fire times 'next' shows.")
    parser.add_argument("--yes", action="store_true", help="Delete without asking.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")
    return parser


async def _run(scheduler: TaskiqScheduler, args: Namespace, out: Output) -> int:
    await scheduler.start_sources()
    try:
        found = await _read(scheduler)
        if args.action == "list":
            return _list(found, out)
        if not args.schedule_id:
            out.error(f"taskiq schedules {args.action}: give the schedule id (see 'list').")
            return EXIT_FAILED
        matches = [(s, t) for s, t in found if t.schedule_id == args.schedule_id]
        if not matches:
            out.error(
                f"taskiq schedules: no schedule {args.schedule_id!r} in any of the "
                f"{len(scheduler.sources)} source(s) ({len(found)} schedules; see 'list').",
            )
            return EXIT_FAILED
        source, task = matches[0]
        if args.action == "next":
            return _next(task, args.count, out)
        return await _change(source, task, args, out)
    finally:
        await scheduler.stop_sources()


async def _read(scheduler: TaskiqScheduler) -> _Found:
    found: _Found = []
    for source in scheduler.sources:
        found.extend((source, task) for task in await source.get_schedules())
    return found


def _list(found: _Found, out: Output) -> int:
    now = utc_now()
    if out.as_json:
        out.json([_document(source, task, now) for source, task in found])
        return 0
    rows = [_row(source, task, now) for source, task in found]
    out.table(f"Schedules ({len(rows)})", COLUMNS, rows)
    return 0


def _next(task: ScheduledTask, count: int, out: Output) -> int:
    fires: list[datetime.datetime] = []
    moment: datetime.datetime | None = utc_now()
    while moment is not None and len(fires) < max(count, 1):
        moment = fire_after(task, moment)
        if moment is not None:
            fires.append(moment)
    if out.as_json:
        out.json({"schedule_id": task.schedule_id, "paused": task.paused, "next": fires})
        return 0
    state = " (paused: none of these is sent)" if task.paused else ""
    out.line(f"Schedule {task.schedule_id} ({task.task_name}){state}:")
    for fire in fires:
        out.line(f"  {fire.isoformat()}")
    return 0


async def _change(source: ScheduleSource, task: ScheduledTask, args: Namespace, out: Output) -> int:
    try:
        if args.action == "delete":
            if not confirm(f"Delete schedule {task.schedule_id} ({task.task_name})?", args.yes):
                out.error("taskiq schedules: not confirmed; nothing deleted (use --yes).")
                return EXIT_FAILED
            await source.delete_schedule(task.schedule_id)
            out.line(f"Deleted schedule {task.schedule_id}.")
            return 0
        paused = args.action == "pause"
        if task.paused == paused:
            out.line(f"Schedule {task.schedule_id} is already {_state(task)}.")
            return 0
        await source.add_schedule(task.model_copy(update={"paused": paused}))
    except NotImplementedError:
        out.error(
            f"taskiq schedules: schedule {task.schedule_id} comes from {type(source).__name__}, "
            "which is read-only; change it where it is declared (the task's schedule label).",
        )
        return EXIT_NOT_SUPPORTED
    out.line(f"Schedule {task.schedule_id} is now {'paused' if paused else 'active'}.")
    return 0


def _when(task: ScheduledTask) -> str:
    if task.cron is not None:
        zone = f" ({task.cron_offset})" if task.cron_offset is not None else ""
        return f"cron {task.cron}{zone}"
    if task.time is not None:
        return f"at {task.time.isoformat()}"
    return f"every {task.interval}"


def _policies(task: ScheduledTask) -> str:
    window = f"/{task.catchup_window}s" if task.catchup_window is not None else ""
    return f"overlap={task.overlap} catchup={task.catchup}{window}"


def _state(task: ScheduledTask) -> str:
    return "paused" if task.paused else "active"


def _next_fire(task: ScheduledTask, now: datetime.datetime) -> datetime.datetime | None:
    try:
        return fire_after(task, now)
    except TaskiqError:
        return None


def _row(source: ScheduleSource, task: ScheduledTask, now: datetime.datetime) -> list[Any]:
    upcoming = _next_fire(task, now)
    return [
        task.schedule_id,
        task.task_name,
        _when(task),
        _policies(task),
        _state(task),
        upcoming.strftime("%Y-%m-%d %H:%M:%S") if upcoming else None,
        type(source).__name__,
    ]


def _document(source: ScheduleSource, task: ScheduledTask, now: datetime.datetime) -> Any:
    return {
        **task.model_dump(mode="json"),
        "next_fire": _next_fire(task, now),
        "source": type(source).__name__,
    }
