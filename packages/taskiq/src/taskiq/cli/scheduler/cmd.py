"""The ``taskiq scheduler`` entry point (``taskiq_cli`` group)."""

from __future__ import annotations

from collections.abc import Sequence

from taskiq.abc.cmd import TaskiqCMD
from taskiq.cli.scheduler.args import SchedulerArgs
from taskiq.cli.scheduler.run import run_scheduler


class SchedulerCMD(TaskiqCMD):
    """``taskiq scheduler module:scheduler [modules...]``."""

    short_help = "Send scheduled tasks to the broker at their fire times."

    def exec(self, args: Sequence[str]) -> int:
        """Parse the options and run the scheduler until SIGINT/SIGTERM."""
        return run_scheduler(SchedulerArgs.from_cli(args))
