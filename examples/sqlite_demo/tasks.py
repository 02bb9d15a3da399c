"""The Basic Usage tasks on `SQLiteBroker`: the worker imports this module.

Tasks and results live in one SQLite file (``DEMO_DB``, default ``tasks.db``):
no server to run, and any number of worker and client processes on this machine
can share it.
"""

import os

from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend

DB = os.environ.get("DEMO_DB", "tasks.db")

broker = SQLiteBroker(DB).with_result_backend(SQLiteResultBackend(DB))


@broker.task
async def add_numbers(a: int, b: int) -> int:
    return a + b


@broker.task
def multiply_numbers(a: int, b: int) -> int:
    return a * b
