"""Options every long-running subcommand shares: where the code is and how to log.

``taskiq worker`` and ``taskiq scheduler`` both call `add_import_args` and
`add_logging_args` on their parser and `configure_logging` in each process.
"""

from __future__ import annotations

import enum
import logging
from argparse import Action, ArgumentDefaultsHelpFormatter, ArgumentParser

#: Taskiq's default log line; ``processName`` names the worker child and its pid.
DEFAULT_LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)-7s][%(processName)s] %(message)s"
DEFAULT_TASKS_PATTERN = "**/tasks.py"


class HelpFormatter(ArgumentDefaultsHelpFormatter):
    """Append "(default: ...)" to every option unless its help already states one."""

    def _get_help_string(self, action: Action) -> str | None:
        help_text = action.help or ""
        if "(default" in help_text:
            return help_text
        return super()._get_help_string(action)


class LogLevel(str, enum.Enum):
    """Levels accepted by ``--log-level``."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    FATAL = "FATAL"


def add_import_args(parser: ArgumentParser) -> None:
    """``modules``, ``--app-dir``, ``--fs-discover`` and ``--tasks-pattern``."""
    parser.add_argument("modules", nargs="*", default=[], help="Modules that declare tasks.")
    parser.add_argument(
        "--app-dir",
        "-d",
        default=None,
        help="Directory put first on sys.path and searched by --fs-discover "
        "(the current directory when not given).",
    )
    parser.add_argument(
        "--fs-discover",
        "-fsd",
        action="store_true",
        help="Import every file under the app directory that matches --tasks-pattern.",
    )
    parser.add_argument(
        "--tasks-pattern",
        "-tp",
        action="append",
        default=None,
        help="Glob of task files for --fs-discover; repeatable "
        f"(default: {DEFAULT_TASKS_PATTERN}).",
    )


def add_logging_args(parser: ArgumentParser) -> None:
    """``--log-level``, ``--log-format`` and ``--no-configure-logging``."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=[level.value for level in LogLevel],
        default=LogLevel.INFO.value,
        help="Level of the root logger.",
    )
    parser.add_argument(
        "--log-format",
        default=DEFAULT_LOG_FORMAT,
        help="Format of log lines (logging module %%-style).",
    )
    parser.add_argument(
        "--no-configure-logging",
        dest="configure_logging",
        action="store_false",
        help="Leave logging alone: the application configures it (default: False).",
    )


def configure_logging(enabled: bool, level: str, log_format: str) -> None:
    """Send log records to stderr at ``level``, unless the user configures logging."""
    if not enabled:
        return
    logging.basicConfig(level=level, format=log_format, force=True)
