"""``taskiq dead-letters APP list|count|replay|delete``: the dead-letter contract as a command.

- ``list [--limit N] [--cursor C] [--all]``: one page (oldest first), or every page;
- ``count``;
- ``replay ID... | --all [--to-queue Q]``: back on their queue (or ``Q``);
- ``delete ID... | --all``: forget them.

Replay and delete ask first unless ``--yes``. ``--all`` works through the dead
letters there were when it started, a page at a time, with a progress bar on a
terminal; one that dies again meanwhile is not replayed twice.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from rich.progress import Progress
from rich.table import Table

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops.base import EXIT_FAILED, OpsCommand
from taskiq.cli.ops.output import Output, confirm
from taskiq.control.dead_letters import DeadLetter, DeadLetterStore, dead_letters_of

#: Dead letters one step of ``--all`` handles (one page, one replay/delete call).
CHUNK = 100
#: Columns of the ``list`` table (the task id and payload are in ``--json``).
LETTER_COLUMNS = ("id", "task", "reason", "deliveries", "died at")

Operation = Callable[[Collection[str]], Awaitable[int]]
#: What each destructive action is called when done (JSON key, summary line).
DONE = {"replay": "replayed", "delete": "deleted"}


def plural(count: int, noun: str) -> str:
    """``1 dead letter``, ``3 dead letters``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def letter_document(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as JSON: every field, the message as text, ``kind`` added."""
    return {
        "id": letter.id,
        "queue": letter.queue,
        "task_id": letter.task_id,
        "task_name": letter.task_name,
        "reason": letter.reason,
        "kind": letter.kind.value,
        "delivery_count": letter.delivery_count,
        "time": letter.time,
        "message": letter.message,
    }


def letter_row(letter: DeadLetter) -> list[Any]:
    """A row of the ``list`` table."""
    when = f"{letter.time:%Y-%m-%d %H:%M:%S}" if letter.time else None
    return [letter.id, letter.task_name, letter.reason, letter.delivery_count, when]


def letters_table(letters: list[DeadLetter]) -> Table:
    """The ``list`` table; ids never wrap (they are what replay and delete take)."""
    table = Table(title="Dead letters", title_justify="left")
    for column in LETTER_COLUMNS:
        table.add_column(column, no_wrap=column == "id", overflow="fold")
    for letter in letters:
        table.add_row(*("-" if cell is None else str(cell) for cell in letter_row(letter)))
    return table


class DeadLettersCMD(OpsCommand):
    """``taskiq dead-letters APP ACTION [IDS...] [options]``."""

    name = "dead-letters"
    short_help = "List, count, replay or delete dead letters."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The action, ids, and the options of each action."""
        parser.add_argument("action", choices=["list", "count", "replay", "delete"])
        parser.add_argument("ids", nargs="*", help="Dead-letter ids (replay, delete).")
        parser.add_argument("--queue", default=None, help="The queue (default: the broker's).")
        parser.add_argument("--all", action="store_true", help="Every page / every dead letter.")
        parser.add_argument("--limit", type=int, default=20, help="Page size of list.")
        parser.add_argument("--cursor", default=None, help="Where list starts (from a page).")
        parser.add_argument("--to-queue", default=None, help="Replay onto this queue instead.")
        parser.add_argument("--yes", action="store_true", help="Do not ask before acting.")

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Dispatch to the action."""
        store = dead_letters_of(broker, args.queue)
        if args.action == "list":
            return await self._list(store, args, out)
        if args.action == "count":
            return await self._count(store, out)
        return await self._act(store, args, out)

    async def _list(self, store: DeadLetterStore, args: Namespace, out: Output) -> int:
        letters: list[DeadLetter] = []
        cursor = args.cursor
        while True:
            page = await store.list(limit=max(1, args.limit), cursor=cursor)
            letters.extend(page.letters)
            cursor = page.next_cursor
            if cursor is None or not args.all:
                break
        if out.as_json:
            out.json({"letters": [letter_document(x) for x in letters], "next_cursor": cursor})
            return 0
        out.console.print(letters_table(letters))
        if cursor is not None:
            out.line(f"More: --cursor {cursor} (or --all).")
        return 0

    async def _act(self, store: DeadLetterStore, args: Namespace, out: Output) -> int:
        verb = args.action
        if bool(args.ids) == args.all:
            out.error(f"taskiq dead-letters {verb}: give dead-letter ids, or --all (not both).")
            return EXIT_FAILED
        operation: Operation = store.delete
        if verb == "replay":
            operation = _replay(store, args.to_queue)
        total = await store.count() if args.all else len(args.ids)
        if total == 0:
            self._done(out, verb, 0, 0, "")
            return 0
        where = f" onto {args.to_queue!r}" if args.to_queue else ""
        every = "all " if args.all else ""
        question = f"{verb.capitalize()} {every}{plural(total, 'dead letter')}{where}?"
        if not confirm(question, args.yes):
            return EXIT_FAILED
        if args.all:
            done = await _in_chunks(store, operation, total, out, verb)
        else:
            done = await operation(args.ids)
        self._done(out, verb, done, total, where)
        return 0

    @staticmethod
    async def _count(store: DeadLetterStore, out: Output) -> int:
        count = await store.count()
        if out.as_json:
            out.json({"count": count})
        else:
            out.line(plural(count, "dead letter"))
        return 0

    @staticmethod
    def _done(out: Output, verb: str, done: int, total: int, where: str) -> None:
        if out.as_json:
            out.json({DONE[verb]: done, "asked": total})
        elif total == 0:
            out.line("No dead letters.")
        else:
            out.line(f"{DONE[verb].capitalize()} {done} of {plural(total, 'dead letter')}{where}.")


def _replay(store: DeadLetterStore, to_queue: str | None) -> Operation:
    async def replay(ids: Collection[str]) -> int:
        return await store.replay(ids, to_queue=to_queue)

    return replay


async def _in_chunks(
    store: DeadLetterStore,
    operation: Operation,
    total: int,
    out: Output,
    verb: str,
) -> int:
    """Apply ``operation`` to the oldest ``total`` dead letters, a page at a time.

    Stops early when a page is not fully handled (a dead letter that cannot be
    replayed stays at the head and would be offered again forever).
    """
    done = 0
    visible = out.console.is_terminal and not out.as_json
    with Progress(console=out.console, disable=not visible, transient=False) as progress:
        bar = progress.add_task(f"{verb} dead letters", total=total)
        while done < total:
            page = await store.list(limit=min(CHUNK, total - done))
            ids = [letter.id for letter in page.letters]
            if not ids:
                break
            handled = await operation(ids)
            done += handled
            progress.advance(bar, handled)
            if handled < len(ids):
                break
    return done
