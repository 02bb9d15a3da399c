"""Helpers the tests import by name: worker app source and worker processes."""

from __future__ import annotations


def worker_app_source(dsn: str, prefix: str) -> str:
    """Source of a module whose ``broker`` consumes the default queue of ``prefix``."""
    return (
        "from taskiq_pg.asyncpg import AsyncpgBroker\n"
        f"broker = AsyncpgBroker({dsn!r}, table_name={prefix + '_messages'!r}, "
        "poll_interval=0.2)\n"
    )
