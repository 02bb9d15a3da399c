"""Helpers the tests import by name: worker app source and worker processes."""

from __future__ import annotations

from pathlib import Path

from taskiq_pg.asyncpg import AsyncpgBroker, AsyncpgResultBackend

TESTS_DIR = Path(__file__).parent


def worker_app_source(dsn: str, prefix: str) -> str:
    """Source of a module whose ``broker`` consumes the default queue of ``prefix``."""
    return (
        "from taskiq_pg.asyncpg import AsyncpgBroker\n"
        f"broker = AsyncpgBroker({dsn!r}, table_name={prefix + '_messages'!r}, "
        "poll_interval=0.2)\n"
    )


def make_broker(dsn: str, prefix: str, **options: object) -> AsyncpgBroker:
    """A broker (with a result backend) on the tables of ``prefix``."""
    options.setdefault("poll_interval", 0.2)
    broker = AsyncpgBroker(dsn, table_name=f"{prefix}_messages", **options)  # type: ignore[arg-type]
    return broker.with_result_backend(AsyncpgResultBackend(dsn, table_name=f"{prefix}_results"))
