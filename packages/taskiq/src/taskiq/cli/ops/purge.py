"""``taskiq purge APP [--queue Q] --yes``: delete the ready messages of one queue.

Only ready messages go: delayed ones, tasks a worker holds and dead letters stay
(``taskiq dead-letters APP delete --all`` empties those). Without ``--queue`` it
is the broker's default queue, never every queue at once.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from contextlib import AbstractContextManager, nullcontext

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import EXIT_FAILED, OpsCommand
from taskiq.cli.ops.dead_letters import plural
from taskiq.cli.ops.output import Output, confirm
from taskiq.control.queues import queues_of


def _spinner(out: Output, text: str) -> AbstractContextManager[object]:
    """A spinner on a terminal while a long purge runs (brokers purge in batches)."""
    if out.as_json or not out.console.is_terminal:
        return nullcontext()
    return out.console.status(text)


class PurgeCMD(OpsCommand):
    """``taskiq purge APP [--queue Q] [--yes] [--json]``."""

    name = "purge"
    short_help = "Delete the ready messages of one queue (asks first unless --yes)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``--queue`` and ``--yes``."""
        parser.add_argument("--queue", default=None, help="The queue (default: the broker's).")
        parser.add_argument("--yes", action="store_true", help="Do not ask before deleting.")

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Show what would go, ask, purge, say how many went."""
        inspector = queues_of(broker)
        depth = await inspector.depth(args.queue)
        how_many = "the" if depth.ready is None else f"the {depth.ready}"
        question = f"Delete {how_many} ready messages of queue {depth.queue!r}?"
        if not confirm(question, args.yes):
            return EXIT_FAILED
        with _spinner(out, f"Purging {depth.queue!r}"):
            purged = await inspector.purge(args.queue)
        if out.as_json:
            out.json({"queue": depth.queue, "purged": purged})
        else:
            out.line(f"Purged {plural(purged, 'ready message')} from queue {depth.queue!r}.")
        return 0
