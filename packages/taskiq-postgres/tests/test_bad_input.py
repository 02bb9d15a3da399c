"""Bad settings and bad rows: one clear error or a dead letter, never a crash."""

from __future__ import annotations

import asyncio

import pytest
from taskiq.control.dead_letters import dead_letters_of
from taskiq.receiver import Receiver
from taskiq_pg import AsyncpgBroker, AsyncpgResultBackend, AsyncpgScheduleSource


@pytest.mark.parametrize("name", ["1abc", "drop table; --", "a-b", ""])
def test_a_table_name_that_is_not_an_identifier_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="table_name must be letters"):
        AsyncpgBroker(table_name=name)
    with pytest.raises(ValueError, match="table_name must be letters"):
        AsyncpgResultBackend(table_name=name)
    with pytest.raises(ValueError, match="table_name must be letters"):
        AsyncpgScheduleSource(AsyncpgBroker(), table_name=name)


@pytest.mark.parametrize(
    "options", [{"lease": 0.5}, {"poll_interval": 0}, {"fetch_batch": 0}, {"max_retry_attempts": 0}]
)
def test_settings_out_of_range_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="lease must be at least 1 s"):
        AsyncpgBroker(**options)  # type: ignore[arg-type]


def test_a_broker_used_before_startup_says_so() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = AsyncpgBroker().pool


@pytest.mark.service("postgres")
async def test_a_garbage_row_is_dead_lettered(pg_broker: AsyncpgBroker) -> None:
    table = pg_broker.tables.messages
    await pg_broker.pool.execute(
        f"INSERT INTO {table} (queue, message) VALUES ($1, $2)", "taskiq", b"\x00garbage"
    )
    deliveries = pg_broker.listen()
    delivery = await asyncio.wait_for(deliveries.__anext__(), 30)
    await Receiver(pg_broker).callback(delivery)
    await deliveries.aclose()
    [letter] = (await dead_letters_of(pg_broker).list()).letters
    assert letter.message == b"\x00garbage"
    assert letter.kind.value == "malformed"


@pytest.mark.service("postgres")
async def test_a_database_newer_than_the_code_is_refused(pg_dsn: str, prefix: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(pg_dsn)
    try:
        await connection.execute(f"CREATE TABLE {prefix}_messages_schema (version integer)")
        await connection.execute(f"INSERT INTO {prefix}_messages_schema VALUES (99)")
    finally:
        await connection.close()
    broker = AsyncpgBroker(pg_dsn, table_name=f"{prefix}_messages")
    with pytest.raises(RuntimeError, match="schema version 99"):
        await broker.startup()
    await broker.shutdown()
