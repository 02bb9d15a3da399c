"""The subcommands of ``taskiq``, found in the ``taskiq_cli`` entry-point group.

Any installed distribution can add ``taskiq <name>`` by declaring, in its
``pyproject.toml``::

    [project.entry-points.taskiq_cli]
    name = "my_package.cli:MyCommand"   # a taskiq.abc.cmd.TaskiqCMD subclass
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from taskiq.abc.cmd import TaskiqCMD
from taskiq.exceptions import TaskiqError

ENTRY_POINT_GROUP = "taskiq_cli"


class CommandLoadError(TaskiqError):
    """An entry point of the ``taskiq_cli`` group does not give a usable subcommand."""

    __template__ = "The taskiq subcommand {name!r} ({value}) cannot be loaded: {reason}"


def find_commands() -> dict[str, EntryPoint]:
    """Installed subcommands by name; the first distribution wins a duplicated name."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return dict(sorted(found.items()))


def load_command(entry: EntryPoint) -> TaskiqCMD:
    """Import the entry point's class and instantiate it."""
    try:
        loaded = entry.load()
    except Exception as exc:
        raise CommandLoadError(name=entry.name, value=entry.value, reason=repr(exc)) from exc
    if not (isinstance(loaded, type) and issubclass(loaded, TaskiqCMD)):
        raise CommandLoadError(
            name=entry.name,
            value=entry.value,
            reason="it is not a taskiq.abc.cmd.TaskiqCMD subclass.",
        )
    return loaded()


def short_help(entry: EntryPoint) -> str:
    """The line shown in ``taskiq --help``; a broken plugin says so instead of crashing."""
    try:
        return load_command(entry).short_help
    except CommandLoadError as exc:
        return f"(unavailable: {exc})"
