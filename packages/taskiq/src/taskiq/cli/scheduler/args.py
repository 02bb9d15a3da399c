"""Options of ``taskiq scheduler``, parsed into one `SchedulerArgs`."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Sequence
from dataclasses import dataclass, field

from taskiq.cli.common_args import (
    DEFAULT_LOG_FORMAT,
    DEFAULT_TASKS_PATTERN,
    HelpFormatter,
    add_import_args,
    add_logging_args,
)


@dataclass
class SchedulerArgs:
    """Everything ``taskiq scheduler`` was asked to do."""

    scheduler: str
    modules: list[str] = field(default_factory=list)
    app_dir: str | None = None
    fs_discover: bool = False
    tasks_pattern: list[str] = field(default_factory=lambda: [DEFAULT_TASKS_PATTERN])
    skip_first_run: bool = False
    update_interval: float | None = None
    loop_interval: float | None = None
    log_level: str = "INFO"
    log_format: str = DEFAULT_LOG_FORMAT
    configure_logging: bool = True

    @classmethod
    def from_cli(cls, args: Sequence[str]) -> SchedulerArgs:
        """Parse the arguments after ``taskiq scheduler``; exit with usage on bad input."""
        values = vars(build_parser().parse_args(list(args)))
        values["tasks_pattern"] = values["tasks_pattern"] or [DEFAULT_TASKS_PATTERN]
        return cls(**values)


def positive_seconds(text: str) -> float:
    """A number of seconds greater than zero."""
    try:
        seconds = float(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"expected a number of seconds, got {text!r}") from exc
    if not seconds > 0:
        raise ArgumentTypeError(f"must be greater than 0, got {text}")
    return seconds


def build_parser() -> ArgumentParser:
    """The parser of ``taskiq scheduler``; ``--help`` shows every default."""
    parser = ArgumentParser(
        prog="taskiq scheduler",
        description="Send scheduled tasks to the broker when they are due. "
        "Run as many replicas as you like: each fire is claimed, then sent once.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "scheduler",
        help="The scheduler as 'module:variable' (a TaskiqScheduler, or a function returning one).",
    )
    add_import_args(parser)
    parser.add_argument(
        "--skip-first-run",
        action="store_true",
        help="Do not send what is due in the minute the scheduler starts in: cron "
        "schedules wait for their next time, interval schedules for one period.",
    )
    parser.add_argument(
        "--update-interval",
        type=positive_seconds,
        default=None,
        help="Seconds between two reads of the schedule sources; between reads the "
        "scheduler sleeps until the next fire time (default: the scheduler's "
        "refresh_delay, 1 second unless set).",
    )
    parser.add_argument(
        "--loop-interval",
        type=positive_seconds,
        default=None,
        help="Longest single sleep of the loop in seconds (default: no limit).",
    )
    add_logging_args(parser)
    return parser
