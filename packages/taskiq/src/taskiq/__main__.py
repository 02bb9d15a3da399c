"""``taskiq`` and ``python -m taskiq``: dispatch to a subcommand.

``taskiq --help`` lists the installed subcommands; ``taskiq <name> --help``
describes one.
"""

from __future__ import annotations

import sys
from argparse import REMAINDER, ArgumentParser, RawDescriptionHelpFormatter
from collections.abc import Sequence
from importlib.metadata import EntryPoint

from taskiq import __version__
from taskiq.cli.commands import CommandLoadError, find_commands, load_command, short_help


def build_parser(commands: dict[str, EntryPoint]) -> ArgumentParser:
    """The top-level parser; its help lists every subcommand with its short help."""
    listing = "\n".join(f"  {name:<12} {short_help(entry)}" for name, entry in commands.items())
    parser = ArgumentParser(
        prog="taskiq",
        description="Distributed task queue: run workers, schedulers and plugin commands.",
        epilog=f"subcommands:\n{listing or '  (none installed)'}\n\n"
        "Run 'taskiq <subcommand> --help' for its options.",
        formatter_class=RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"taskiq {__version__}")
    parser.add_argument("subcommand", metavar="subcommand", help="What to run.")
    parser.add_argument("args", nargs=REMAINDER, help="Arguments of the subcommand.")
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse ``argv`` (without the program name) and run the subcommand; return the exit code."""
    commands = find_commands()
    parser = build_parser(commands)
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    namespace = parser.parse_args(argv)
    entry = commands.get(namespace.subcommand)
    if entry is None:
        known = ", ".join(commands) or "none"
        parser.error(f"unknown subcommand {namespace.subcommand!r} (installed: {known}).")
    try:
        command = load_command(entry)
    except CommandLoadError as exc:
        print(f"taskiq: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return command.exec(namespace.args) or 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
