"""Turn the application argument of `init` into a Starlette/FastAPI instance."""

from __future__ import annotations

from starlette.applications import Starlette
from taskiq.cli.utils import import_or_build

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
    target = await import_or_build(
        path, Starlette, error=lambda reason: AppLoadError(path=path, reason=reason)
    )
    if not isinstance(target, Starlette):
        raise AppLoadError(path=path, reason=f"{target!r} is not a FastAPI application.")
    return target
