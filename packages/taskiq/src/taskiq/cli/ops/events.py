"""``taskiq events APP``: tail the live events feed (task and worker events) until stopped.

One line per event for people (time, kind, task, worker, details), or one JSON object per
line with ``--json`` (`Event.to_json`), so it pipes into ``jq``. ``--kind`` keeps only some
kinds; ``--count N`` stops after N events (scripts, tests). It says on standard error when
it listens: workers notice a new subscriber within two seconds (see
`taskiq.control.event_publisher`), and nothing from before is shown. Ctrl-C stops it
(exit 0). A result backend without a feed makes it say so and exit 2.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import OpsCommand
from taskiq.cli.ops.output import Output
from taskiq.control.events import Event, EventKind, events_of

_STYLES = {
    EventKind.TASK_SUCCEEDED: "green",
    EventKind.TASK_FAILED: "red",
    EventKind.TASK_DEAD_LETTERED: "red",
    EventKind.TASK_RETRIED: "yellow",
    EventKind.TASK_CANCELLED: "yellow",
    EventKind.WORKER_ONLINE: "cyan",
    EventKind.WORKER_OFFLINE: "cyan",
}


class EventsCMD(OpsCommand):
    """Print task and worker events as they happen."""

    name = "events"
    short_help = "Tail the live feed of task and worker events."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``--kind`` (repeatable) and ``--count``."""
        parser.add_argument(
            "--kind",
            action="append",
            default=[],
            help="Only events of this kind (repeatable): "
            + ", ".join(kind.value for kind in EventKind),
        )
        parser.add_argument("--count", type=int, default=0, help="Stop after this many events.")

    def exec(self, args: Sequence[str]) -> int:
        """As every command; Ctrl-C is the normal way to stop."""
        try:
            return super().exec(args)
        except KeyboardInterrupt:
            return 0

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Subscribe and print until stopped (or ``--count`` events were printed)."""
        kinds = _kinds(args.kind)
        if args.count < 0:
            raise ValueError(f"--count must be 0 (no limit) or more, not {args.count}.")
        feed = events_of(broker)
        printed = 0
        async with await feed.subscribe() as stream:
            Output.error(f"Listening for events of {type(broker).__name__} (Ctrl-C to stop).")
            async for event in stream:
                if kinds and event.kind not in kinds:
                    continue
                _print(out, event)
                printed += 1
                if printed == args.count:
                    break
        return 0


def _kinds(names: list[str]) -> set[EventKind]:
    known = {kind.value: kind for kind in EventKind}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown event kind {unknown[0]!r}; use one of: {', '.join(known)}.",
        )
    return {known[name] for name in names}


def _print(out: Output, event: Event) -> None:
    if out.as_json:
        sys.stdout.write(json.dumps(event.to_json(), default=str) + "\n")
        sys.stdout.flush()
        return
    out.console.print(line(event), style=_STYLES.get(event.kind), markup=False)


def line(event: Event) -> str:
    """One event as a line: ``12:00:01.250 task-failed add [id] on host:pid #0 error=...``."""
    parts = [event.time.strftime("%H:%M:%S.%f")[:-3], f"{event.kind.value:<18}"]
    if event.task_id is not None:
        parts.append(f"{event.task_name or '?'} [{event.task_id}]")
    if event.worker is not None:
        parts.append(f"on {event.worker}")
    for key, value in event.extra.items():
        shown = f"{value:.3f}s" if key == "duration" and isinstance(value, float) else value
        parts.append(f"{key}={shown}")
    return " ".join(parts)
