"""Load the user's broker for an operations command and connect to it as a client."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.utils import CLIImportError, add_app_dir, import_object


def load_broker(spec: str, app_dir: str | None = None) -> AsyncBroker:
    """The broker named by ``module:variable`` (or a function building it), as the worker does."""
    add_app_dir(app_dir)
    found = import_object(spec)
    if inspect.isfunction(found):
        found = found()
    if not isinstance(found, AsyncBroker):
        raise CLIImportError(spec=spec, reason=f"{found!r} is not a taskiq broker.")
    return found


@asynccontextmanager
async def connected(broker: AsyncBroker) -> AsyncIterator[AsyncBroker]:
    """The broker started as a client (no worker events run), shut down afterwards."""
    broker.is_worker_process = False
    await broker.startup()
    try:
        yield broker
    finally:
        await broker.shutdown()
