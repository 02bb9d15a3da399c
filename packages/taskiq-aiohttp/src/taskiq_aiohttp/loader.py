"""Turn the application argument of `init` into a `web.Application`."""

from __future__ import annotations

import inspect
from typing import Any

from aiohttp import web
from taskiq.cli.utils import import_object
from taskiq.exceptions import TaskiqError

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
    target = _import(path)
    if not isinstance(target, (web.Application, web.AppRunner)) and callable(target):
        target = await _call_factory(path, target)
    if isinstance(target, web.AppRunner):
        target = target.app
    if not isinstance(target, web.Application):
        raise AppLoadError(path=path, reason=f"{target!r} is not an aiohttp web.Application.")
    return target


def _import(path: str) -> Any:
    try:
        return import_object(path)
    except TaskiqError as exc:
        raise AppLoadError(path=path, reason=getattr(exc, "reason", str(exc))) from exc
    except Exception as exc:  # the app module itself failed to import
        raise AppLoadError(path=path, reason=f"importing it raised {exc!r}.") from exc


async def _call_factory(path: str, factory: Any) -> Any:
    try:
        app = factory()
        if inspect.isawaitable(app):
            app = await app
    except Exception as exc:
        raise AppLoadError(path=path, reason=f"the factory raised {exc!r}.") from exc
    return app
