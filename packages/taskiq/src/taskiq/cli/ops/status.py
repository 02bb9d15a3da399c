"""``taskiq status APP``: the broker's queues and its live workers at a glance.

The output is a list of sections, each a table for people and one key of the
JSON document (``{"queues": [...], "workers": [...]}``); the workers part is left out
when the result backend keeps no heartbeats.
"""

from __future__ import annotations

import datetime
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import OpsCommand
from taskiq.cli.ops.output import Output
from taskiq.cli.ops.workers import COLUMNS as WORKER_COLUMNS
from taskiq.cli.ops.workers import row as worker_row
from taskiq.control.queues import QueueDepth, queues_of
from taskiq.control.workers import workers_of
from taskiq.exceptions import NotSupportedError

#: The columns of the queues table, in the order of `QueueDepth`'s counts.
QUEUE_COLUMNS = ("queue", "ready", "delayed", "in flight", "dead")


@dataclass(frozen=True)
class StatusSection:
    """One part of the status: a table for people, ``document`` under ``key`` in JSON."""

    key: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    document: Any


def depth_row(depth: QueueDepth) -> list[Any]:
    """A queues-table row: None stays None (printed as ``-``: the broker cannot know)."""
    return [depth.queue, depth.ready, depth.delayed, depth.in_flight, depth.dead]


async def queues_section(broker: AsyncBroker, queues: Sequence[str] | None) -> StatusSection:
    """The depth of ``queues`` (default: every queue the broker knows)."""
    inspector = queues_of(broker)
    if queues:
        depths = [await inspector.depth(name) for name in queues]
    else:
        depths = await inspector.depths()
    return StatusSection(
        key="queues",
        title="Queues",
        columns=QUEUE_COLUMNS,
        rows=[depth_row(depth) for depth in depths],
        document=[asdict(depth) for depth in depths],
    )


async def workers_section(broker: AsyncBroker) -> StatusSection | None:
    """The live workers of ``broker`` (as ``taskiq workers`` shows them).

    None when its result backend keeps no heartbeats: the queues are still worth
    showing, so status does not fail for that (``taskiq workers`` says why).
    """
    try:
        workers = await workers_of(broker).list()
    except NotSupportedError:
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    return StatusSection(
        key="workers",
        title=f"Workers ({len(workers)})",
        columns=WORKER_COLUMNS,
        rows=[worker_row(info, now) for info in workers],
        document=[asdict(info) for info in workers],
    )


class StatusCMD(OpsCommand):
    """``taskiq status APP [--queue Q ...] [--json]``."""

    name = "status"
    short_help = "Show queue depths (ready, delayed, in flight, dead) and live workers at a glance."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``--queue`` (repeatable) picks queues; default: all the broker knows."""
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            default=None,
            help="A queue to show (repeat for several; default: every queue of the broker).",
        )

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Collect every section, then print them as tables or one JSON document."""
        sections = [await queues_section(broker, args.queues)]
        workers = await workers_section(broker)
        if workers is not None:
            sections.append(workers)
        if out.as_json:
            out.json({section.key: section.document for section in sections})
            return 0
        for section in sections:
            out.table(section.title, section.columns, section.rows)
        return 0
