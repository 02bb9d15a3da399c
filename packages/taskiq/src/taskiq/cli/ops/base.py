"""`OpsCommand`: parse ``APP [options]``, connect, run one coroutine, map errors to exit codes.

Exit codes: 0 done; 1 failed (the broker could not be reached, a bad argument or queue, a
refused confirmation); 2 the broker cannot do this (`NotSupportedError`), said in one line.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.cmd import TaskiqCMD
from taskiq.cli.ops.app import connected, load_broker
from taskiq.cli.ops.output import Output
from taskiq.exceptions import NotSupportedError, TaskiqError

logger = logging.getLogger("taskiq.cli")

EXIT_FAILED = 1
EXIT_NOT_SUPPORTED = 2


class OpsCommand(TaskiqCMD):
    """Base of every operations command; subclasses add arguments and implement `run`."""

    #: ``taskiq <name>``, for the usage line.
    name: str = ""

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Add the command's own arguments (after APP)."""

    @abstractmethod
    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        """Do the command against the connected broker; return the exit code."""

    def parser(self) -> ArgumentParser:
        """``APP`` and the shared options, then the command's own."""
        parser = ArgumentParser(prog=f"taskiq {self.name}", description=self.short_help)
        parser.add_argument("app", help="The broker, as module:variable (as for taskiq worker).")
        parser.add_argument("--app-dir", default=None, help="Directory to import APP from.")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")
        self.add_arguments(parser)
        return parser

    def exec(self, args: Sequence[str]) -> int:
        """Parse, load the broker, connect and run; errors become one line and an exit code."""
        namespace = self.parser().parse_args(list(args))
        out = Output(as_json=namespace.json)
        try:
            broker = load_broker(namespace.app, namespace.app_dir)
            return asyncio.run(self._connected_run(broker, namespace, out))
        except NotSupportedError as exc:
            out.error(str(exc))
            return EXIT_NOT_SUPPORTED
        except (TaskiqError, OSError, ValueError) as exc:  # ValueError: an unknown queue
            logger.debug("taskiq %s failed", self.name, exc_info=exc)
            out.error(f"taskiq {self.name}: {exc}")
            return EXIT_FAILED

    async def _connected_run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        async with connected(broker):
            return await self.run(broker, args, out)
