"""Turn the application argument of `init` into a `web.Application`."""

from __future__ import annotations

from aiohttp import web
from taskiq.cli.utils import import_or_build

from taskiq_aiohttp.errors import AppLoadError


async def load_app(app_or_path: str | web.Application) -> web.Application:
    """Import ``module:variable`` and return the application it names.

    The variable may be a `web.Application`, a `web.AppRunner`, or a factory
    (sync or async, no arguments) returning either, as ``python -m aiohttp.web``
    accepts. Every failure is an `AppLoadError` naming the path.
    """
    if isinstance(app_or_path, web.Application):
        return app_or_path
    path = app_or_path
    target = await import_or_build(
        path,
        (web.Application, web.AppRunner),
        error=lambda reason: AppLoadError(path=path, reason=reason),
    )
    if isinstance(target, web.AppRunner):
        target = target.app
    if not isinstance(target, web.Application):
        raise AppLoadError(path=path, reason=f"{target!r} is not an aiohttp web.Application.")
    return target
