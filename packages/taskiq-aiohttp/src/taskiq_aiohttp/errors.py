"""The one error this package raises on purpose."""

from __future__ import annotations

from taskiq.exceptions import TaskiqError


class AppLoadError(TaskiqError):
    """The application named in `taskiq_aiohttp.init` cannot be loaded.

    Raised at worker startup, so a worker with a wrong path stops at once with
    the path in the message instead of failing on the first task that needs it.
    """

    __template__ = (
        "Cannot load the aiohttp application {path!r}: {reason} "
        "Pass taskiq_aiohttp.init() a 'module:variable' path to a web.Application "
        "or to a function (sync or async) that returns one."
    )
