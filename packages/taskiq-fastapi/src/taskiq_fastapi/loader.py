"""Turn the application argument of `init` into a Starlette/FastAPI instance."""

from __future__ import annotations

import inspect
from typing import Any

from starlette.applications import Starlette
from taskiq.cli.utils import import_object
from taskiq.exceptions import TaskiqError

from taskiq_fastapi.errors import AppLoadError


async def load_app(app_or_path: str | Starlette) -> Starlette:
    """Import ``module:variable`` and return the app it names.

    The variable may be the app itself or a factory (sync or async, no
    arguments) that returns one, as uvicorn's ``--factory`` accepts. Every
    failure is an `AppLoadError` naming the path.
    """
    if isinstance(app_or_path, Starlette):
        return app_or_path
    path = app_or_path
    target = _import(path)
    if not isinstance(target, Starlette) and callable(target):
        target = await _call_factory(path, target)
    if not isinstance(target, Starlette):
        raise AppLoadError(path=path, reason=f"{target!r} is not a FastAPI application.")
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
