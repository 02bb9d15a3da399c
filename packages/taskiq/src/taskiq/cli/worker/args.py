"""Options of ``taskiq worker``, parsed into one picklable `WorkerArgs`.

`WorkerArgs` travels to every child process, so it holds only plain values;
each child imports the broker and the receiver class from their names.
"""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Sequence
from dataclasses import dataclass, field

from taskiq.acks import AcknowledgeType
from taskiq.cli.common_args import (
    DEFAULT_LOG_FORMAT,
    DEFAULT_TASKS_PATTERN,
    HelpFormatter,
    add_import_args,
    add_logging_args,
)
from taskiq.cli.worker.reloader import DEFAULT_RELOAD_PATTERNS
from taskiq.control.workers import DEFAULT_HEARTBEAT_INTERVAL


@dataclass
class WorkerArgs:
    """Everything ``taskiq worker`` was asked to do; defaults match Taskiq's."""

    broker: str
    modules: list[str] = field(default_factory=list)
    app_dir: str | None = None
    fs_discover: bool = False
    tasks_pattern: list[str] = field(default_factory=lambda: [DEFAULT_TASKS_PATTERN])
    workers: int = 2
    reload: bool = False
    reload_dirs: list[str] = field(default_factory=list)
    reload_patterns: list[str] = field(default_factory=lambda: list(DEFAULT_RELOAD_PATTERNS))
    no_gitignore: bool = False
    ack_type: AcknowledgeType = AcknowledgeType.WHEN_SAVED
    max_async_tasks: int = 100
    max_async_tasks_jitter: int = 0
    max_prefetch: int = 0
    max_threadpool_threads: int | None = None
    use_process_pool: bool = False
    max_process_pool_processes: int | None = None
    cancel_grace: float = 5.0
    max_tasks_per_child: int | None = None
    max_fails: int = -1
    shutdown_timeout: float = 5.0
    wait_tasks_timeout: float | None = None
    hardkill_count: int = 3
    receiver: str = "taskiq.receiver:Receiver"
    receiver_arg: list[tuple[str, str]] = field(default_factory=list)
    no_parse: bool = False
    no_propagate_errors: bool = False
    log_level: str = "INFO"
    log_format: str = DEFAULT_LOG_FORMAT
    configure_logging: bool = True
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    health_port: int | None = None
    health_host: str = "127.0.0.1"

    @classmethod
    def from_cli(cls, args: Sequence[str]) -> WorkerArgs:
        """Parse the arguments after ``taskiq worker``; exit with usage on bad input."""
        namespace = build_parser().parse_args(list(args))
        values = vars(namespace)
        values["tasks_pattern"] = values["tasks_pattern"] or [DEFAULT_TASKS_PATTERN]
        values["reload_patterns"] = values["reload_patterns"] or list(DEFAULT_RELOAD_PATTERNS)
        values["ack_type"] = AcknowledgeType(values["ack_type"])
        return cls(**values)


def receiver_arg(text: str) -> tuple[str, str]:
    """Parse ``key=value`` for ``--receiver_arg``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    number = int(text)
    if number < 1:
        raise ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    number = int(text)
    if number < 0:
        raise ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def non_negative_float(text: str) -> float:
    """A number of seconds, 0 or more."""
    number = float(text)
    if number < 0:
        raise ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def build_parser() -> ArgumentParser:
    """The ``taskiq worker`` parser; ``--help`` shows every default."""
    parser = ArgumentParser(
        prog="taskiq worker",
        description="Run tasks: a supervisor process and --workers child processes.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "broker", help="The broker, as 'module:variable' (or a function returning one)."
    )
    add_import_args(parser)
    _add_process_args(parser)
    _add_reload_args(parser)
    _add_concurrency_args(parser)
    _add_shutdown_args(parser)
    _add_receiver_args(parser)
    _add_control_args(parser)
    add_logging_args(parser)
    return parser


def _add_process_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--workers", "-w", type=positive_int, default=2, help="Number of child processes."
    )
    parser.add_argument(
        "--max-tasks-per-child",
        type=positive_int,
        default=None,
        help="Replace a child after it has taken this many messages (None: never).",
    )
    parser.add_argument(
        "--max-fails",
        type=int,
        default=-1,
        help="Child crashes tolerated (each restarts the child); one more stops the "
        "worker with exit code 1. -1: restart forever.",
    )


def _add_reload_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--reload",
        "-r",
        action="store_true",
        help="Restart the children when a watched file changes (needs taskiq[reload]).",
    )
    parser.add_argument(
        "--reload-dir",
        dest="reload_dirs",
        action="append",
        default=[],
        help="Directory to watch with --reload; repeatable (default: the app directory).",
    )
    parser.add_argument(
        "--reload-pattern",
        dest="reload_patterns",
        action="append",
        default=None,
        help="Gitignore-style glob of the files whose changes reload; repeatable, "
        f"replaces the default (default: {' '.join(DEFAULT_RELOAD_PATTERNS)}).",
    )
    parser.add_argument(
        "--do-not-use-gitignore",
        dest="no_gitignore",
        action="store_true",
        help="With --reload, also react to files that .gitignore ignores.",
    )


def _add_concurrency_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--max-async-tasks",
        type=positive_int,
        default=100,
        help="Tasks running at once in each child.",
    )
    parser.add_argument(
        "--max-async-tasks-jitter",
        type=non_negative_int,
        default=0,
        help="Add a random 0..N to --max-async-tasks in each child.",
    )
    parser.add_argument(
        "--max-prefetch",
        type=non_negative_int,
        default=0,
        help="Messages a child fetches ahead of a free task slot.",
    )
    parser.add_argument(
        "--max-threadpool-threads",
        type=positive_int,
        default=None,
        help="Threads running sync tasks in each child (None: Python's default).",
    )
    parser.add_argument(
        "--use-process-pool",
        action="store_true",
        help="Run sync tasks in a process pool instead of threads.",
    )
    parser.add_argument(
        "--max-process-pool-processes",
        type=positive_int,
        default=None,
        help="Processes of that pool in each child (None: one per CPU).",
    )
    parser.add_argument(
        "--cancel-grace",
        type=non_negative_float,
        default=5.0,
        help="Seconds a cancelled sync task may run on before the child stops waiting "
        "(its pool process is ended with --use-process-pool).",
    )


def _add_shutdown_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--shutdown-timeout",
        type=non_negative_float,
        default=5.0,
        help="Seconds a child gives the broker's shutdown.",
    )
    parser.add_argument(
        "--wait-tasks-timeout",
        type=non_negative_float,
        default=None,
        help="Seconds a stopping child waits for running tasks (None: until they end).",
    )
    parser.add_argument(
        "--hardkill-count",
        type=positive_int,
        default=3,
        help="SIGINT/SIGTERM signals after which the children are killed at once.",
    )


def _add_receiver_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--ack-type",
        choices=[ack.value for ack in AcknowledgeType],
        default=AcknowledgeType.WHEN_SAVED.value,
        help="When a message is acknowledged.",
    )
    parser.add_argument(
        "--receiver",
        default="taskiq.receiver:Receiver",
        help="Receiver class, as 'module:Class'.",
    )
    parser.add_argument(
        "--receiver_arg",
        "--receiver-arg",
        dest="receiver_arg",
        type=receiver_arg,
        action="append",
        default=[],
        help="key=value keyword for the receiver class (a string); repeatable.",
    )
    parser.add_argument(
        "--no-parse",
        action="store_true",
        help="Do not cast task arguments to their annotated types.",
    )
    parser.add_argument(
        "--no-propagate-errors",
        action="store_true",
        help="Do not throw task errors into dependency generators.",
    )


def _add_control_args(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--heartbeat-interval",
        type=non_negative_float,
        default=DEFAULT_HEARTBEAT_INTERVAL,
        help="Seconds between the heartbeats each child publishes for `taskiq workers`; "
        "a record expires after 3 missed ones. 0: no heartbeat.",
    )
    parser.add_argument(
        "--health-port",
        type=non_negative_int,
        default=None,
        help="Serve /livez and /readyz on this port (None: no health endpoints).",
    )
    parser.add_argument(
        "--health-host",
        default="127.0.0.1",
        help="Address the health endpoints listen on (0.0.0.0: every interface).",
    )
