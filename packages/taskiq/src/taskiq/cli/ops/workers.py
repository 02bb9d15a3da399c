"""``taskiq workers APP``: the worker children alive now, from their heartbeats.

One row per child (host, pid, ``--workers`` index) with its queues, concurrency,
the tasks it runs now, its done/failed counts, when it started and when it last
beat. ``--json`` prints the `WorkerInfo` records as a list. A result backend that
cannot store heartbeats makes the command say so and exit 2.
"""

from __future__ import annotations

import datetime
from argparse import Namespace
from dataclasses import asdict
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import OpsCommand
from taskiq.cli.ops.output import Output
from taskiq.control.workers import WorkerInfo, workers_of

COLUMNS = ("Worker", "Queues", "Running", "Done", "Failed", "Up", "Last beat", "Version")


class WorkersCMD(OpsCommand):
    """List the live worker children."""

    name = "workers"
    short_help = "List live worker processes (their heartbeats)."

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Print the live workers as a table or JSON."""
        workers = await workers_of(broker).list()
        if out.as_json:
            out.json([asdict(info) for info in workers])
            return 0
        now = datetime.datetime.now(datetime.timezone.utc)
        out.table(f"Workers ({len(workers)})", COLUMNS, [row(info, now) for info in workers])
        for info in workers:
            for task in info.running:
                since = _ago(now, task.since)
                out.line(f"  {_label(info)} runs {task.task_name} [{task.task_id}] for {since}")
        return 0


def row(info: WorkerInfo, now: datetime.datetime) -> list[Any]:
    """One table row: who, what it consumes, how busy it is, and how fresh the record is."""
    return [
        _label(info),
        ", ".join(info.queues) or None,
        f"{len(info.running)}/{info.concurrency}",
        info.done,
        info.failed,
        _ago(now, info.started),
        f"{_ago(now, info.heartbeat)} ago",
        info.version,
    ]


def _label(info: WorkerInfo) -> str:
    return f"{info.id.host}:{info.id.pid} #{info.id.index}"


def _ago(now: datetime.datetime, then: datetime.datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
