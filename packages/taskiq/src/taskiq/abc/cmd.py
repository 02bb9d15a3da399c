"""A subcommand of the ``taskiq`` program.

Packages add subcommands through the ``taskiq_cli`` entry-point group: the
entry's name is the subcommand, its object a `TaskiqCMD` subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class TaskiqCMD(ABC):
    """One ``taskiq <name>`` subcommand."""

    #: One line shown in ``taskiq --help``.
    short_help: str = ""

    @abstractmethod
    def exec(self, args: Sequence[str]) -> int | None:
        """Run with the arguments after the subcommand's name; return the exit code."""
