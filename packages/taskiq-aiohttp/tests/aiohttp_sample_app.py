"""Applications the tests load by path, in every shape `init` accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

#: What the application's signals did, in order; tests reset it.
EVENTS: list[str] = []
POOL = web.AppKey("pool", str)


async def _on_startup(app: web.Application) -> None:
    EVENTS.append("on_startup")
    app[POOL] = "pool-of-app"


async def _on_shutdown(app: web.Application) -> None:
    EVENTS.append("on_shutdown")


async def _on_cleanup(app: web.Application) -> None:
    EVENTS.append("on_cleanup")


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    EVENTS.append("ctx_enter")
    yield
    EVENTS.append("ctx_exit")


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def create_app() -> web.Application:
    """A factory, as ``python -m aiohttp.web`` takes."""
    new_app = web.Application()
    new_app.on_startup.append(_on_startup)
    new_app.on_shutdown.append(_on_shutdown)
    new_app.on_cleanup.append(_on_cleanup)
    new_app.cleanup_ctx.append(_client_session)
    new_app.router.add_get("/hello", _hello, name="hello")
    return new_app


async def create_app_async() -> web.Application:
    """An async factory."""
    return create_app()


# An application can start once per event loop: each test loads its own one.
app = create_app()
identity_app = create_app()
runner = web.AppRunner(create_app())


async def _broken_startup(app: web.Application) -> None:
    raise RuntimeError("database unreachable")


broken_app = web.Application()
broken_app.cleanup_ctx.append(_client_session)
broken_app.on_startup.append(_broken_startup)
not_an_app = {"this": "is a dict"}


def failing_factory() -> web.Application:
    raise RuntimeError("factory exploded")
