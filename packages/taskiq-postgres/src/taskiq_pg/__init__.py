"""PostgreSQL for taskiq: `AsyncpgBroker`, `AsyncpgResultBackend`, `AsyncpgScheduleSource`.

The names and import paths are those of the third-party ``taskiq-postgres``
(``from taskiq_pg.asyncpg import AsyncpgBroker``); they are also exported here.
"""

from taskiq_pg.asyncpg import AsyncpgBroker, AsyncpgResultBackend, AsyncpgScheduleSource

__all__ = ["AsyncpgBroker", "AsyncpgResultBackend", "AsyncpgScheduleSource"]
