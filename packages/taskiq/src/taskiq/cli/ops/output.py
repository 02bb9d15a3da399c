"""How operations commands print: rich tables for people, ``--json`` for programs.

Human output goes to standard output through rich; errors are one line on standard
error. JSON output is one document per command (a list or an object), so it pipes into
``jq`` without parsing tables.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class Output:
    """Where a command writes: tables or JSON, chosen once by ``--json``."""

    def __init__(self, as_json: bool = False, console: Console | None = None) -> None:
        self.as_json = as_json
        self.console = console or Console(highlight=False, soft_wrap=True)

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        """A table of ``rows``; ``None`` cells print as ``-`` (unknown, never a guess)."""
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("-" if cell is None else str(cell) for cell in row))
        self.console.print(table)

    def line(self, text: str) -> None:
        """One plain line for people (nothing in JSON mode)."""
        if not self.as_json:
            self.console.print(text, markup=False)

    def json(self, document: Any) -> None:
        """The command's one JSON document."""
        sys.stdout.write(json.dumps(document, default=_jsonable, indent=2) + "\n")
        sys.stdout.flush()

    @staticmethod
    def error(text: str) -> None:
        """One line on standard error."""
        sys.stderr.write(text.rstrip() + "\n")
        sys.stderr.flush()


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask before a destructive action; with no terminal to ask, only ``--yes`` proceeds."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        Output.error(f"{question} Refusing without a terminal to ask: pass --yes.")
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in {"y", "yes"}
