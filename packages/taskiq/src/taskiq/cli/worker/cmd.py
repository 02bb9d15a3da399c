"""``taskiq worker``: the subcommand registered in the ``taskiq_cli`` entry points."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from taskiq.abc.cmd import TaskiqCMD
from taskiq.cli.common_args import configure_logging
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.supervisor import Supervisor
from taskiq.exceptions import TaskiqError

logger = logging.getLogger("taskiq.worker")


class WorkerCMD(TaskiqCMD):
    """Parses the worker's options and runs its supervisor."""

    short_help = "Run tasks: a supervisor and --workers child processes."

    def exec(self, args: Sequence[str]) -> int:
        """Run until stopped by a signal; 0 after a graceful stop, 1 otherwise."""
        worker_args = WorkerArgs.from_cli(args)
        configure_logging(
            worker_args.configure_logging, worker_args.log_level, worker_args.log_format
        )
        try:
            return Supervisor(worker_args).run()
        except TaskiqError as exc:  # e.g. --reload without the reload extra
            logger.error("%s", exc)
            return 1
