"""One connection per file and process, on a thread of its own, with group commit.

The stdlib `sqlite3` module blocks, so every statement runs on the connection's
own thread and the event loop awaits a future. Writes are grouped: every write
queued while the thread was busy goes into the next transaction together (each
in a savepoint, so one failing write does not undo the others), which turns a
worker's per-task ack, result and states into one commit per batch. Measured
against ``aiosqlite`` (one commit per call) in docs/brokers/sqlite.md.

`shared` hands every broker, backend and source of a process that names the
same file the same `Database`, so they share the thread and the commits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from taskiq_sqlite import schema

logger = logging.getLogger("taskiq_sqlite")

_T = TypeVar("_T")
Operation = Callable[[sqlite3.Connection], Any]

#: Most operations one transaction takes from the queue.
MAX_GROUP = 1000
#: The connection's own busy timeout (seconds); `Database._begin` waits longer itself.
SHORT_BUSY_TIMEOUT = 0.005


@dataclass
class _Job:
    operation: Operation
    write: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass
class _Outcomes:
    """What one group produced, handed back to the loop in one callback."""

    done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = field(default_factory=list)


class Database:
    """The file ``path`` on one connection and one thread (see the module docstring)."""

    def __init__(self, path: str, busy_timeout: float = 10.0, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = path
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self._jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        #: Jobs posted during this event-loop turn, handed to the thread together at its end.
        self._turn: list[_Job] = []
        self._thread: threading.Thread | None = None
        self._users = 0
        self._opening: asyncio.Future[None] | None = None

    # -- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Start the thread, connect, create the schema (once per user; see `close`)."""
        self._users += 1
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"taskiq-sqlite:{os.path.basename(self.path)}", daemon=True
            )
            self._thread.start()
            self._opening = asyncio.ensure_future(self.call(self._create, write=False))
        assert self._opening is not None
        try:
            await asyncio.shield(self._opening)
        except BaseException:
            await self.close()
            raise

    def _create(self, conn: sqlite3.Connection) -> None:
        """Create the schema under the full busy timeout, then shorten it (see `_begin`)."""
        schema.create(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(SHORT_BUSY_TIMEOUT * 1000)}")

    async def close(self) -> None:
        """Stop the thread when the last user closes (pending operations finish first)."""
        self._users = max(0, self._users - 1)
        if self._users or self._thread is None:
            return
        thread, self._thread, self._opening = self._thread, None, None
        self._hand_over()
        self._jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)

    @property
    def is_open(self) -> bool:
        """True between the first `open` and the last `close`."""
        return self._thread is not None

    # -- operations ----------------------------------------------------------

    def post(self, operation: Operation, *, write: bool = True) -> asyncio.Future[Any]:
        """Queue ``operation(conn)``; the future has its return value (or its exception)."""
        if self._thread is None:
            raise RuntimeError(
                f"The SQLite file {self.path} is not open: call broker.startup() "
                "(or the result backend's startup()) first."
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._turn:
            loop.call_soon(self._hand_over)
        self._turn.append(_Job(operation, write, loop, future))
        return future

    def _hand_over(self) -> None:
        """One hand-over per loop turn: waking the thread costs more than a statement."""
        turn, self._turn = self._turn, []
        if turn:
            self._jobs.put(turn)

    async def call(self, operation: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        """Run ``operation(conn)`` on the thread (in a write transaction if ``write``)."""
        result: _T = await self.post(operation, write=write)
        return result

    async def read(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run a read-only ``operation`` (each statement sees one consistent state)."""
        return await self.call(operation, write=False)

    async def write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` in a write transaction, grouped with the writes queued with it."""
        return await self.call(operation, write=True)

    # -- the thread ----------------------------------------------------------

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = schema.connect(self.path, self.busy_timeout, self.synchronous)
        except sqlite3.Error as exc:
            self._fail_all(exc)
            return
        try:
            while self._serve_group(conn):
                pass
        finally:
            conn.close()

    def _serve_group(self, conn: sqlite3.Connection) -> bool:
        first = self._jobs.get()
        if first is None:
            return False
        group = list(first)
        while len(group) < MAX_GROUP:
            try:
                more = self._jobs.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._jobs.put(None)  # stop after this group
                break
            group.extend(more)
        outcomes = _Outcomes()
        writes = [job for job in group if job.write]
        if writes:
            self._write_group(conn, writes, outcomes)
        for job in group:
            if not job.write:
                outcomes.done.append(_attempt(job, conn))
        _hand_back(group, outcomes)
        return True

    def _write_group(self, conn: sqlite3.Connection, jobs: list[_Job], out: _Outcomes) -> None:
        """All ``jobs`` in one transaction; if one fails, each again in a transaction of its own.

        Savepoints per job would isolate a failure too, but cost two statements per
        job on the fast path; failures are rare (a constraint, a full disk).
        """
        results = self._transaction(conn, jobs)
        if len(jobs) > 1 and any(error is not None for _, _, error in results):
            results = [self._transaction(conn, [job])[0] for job in jobs]
        out.done.extend(results)

    def _transaction(
        self, conn: sqlite3.Connection, jobs: list[_Job]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        try:
            self._begin(conn)
        except sqlite3.Error as exc:
            logger.warning("Could not write to %s: %s", self.path, exc)
            return [(job.future, None, _translated(exc, self.path)) for job in jobs]
        results = []
        for job in jobs:
            outcome = _attempt(job, conn)
            results.append(outcome)
            if outcome[2] is not None:  # undo the group; the caller retries one by one
                conn.rollback()
                return [(other.future, None, outcome[2]) for other in jobs]
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            logger.warning("Could not commit to %s: %s", self.path, exc)
            return [(job.future, None, _translated(exc, self.path)) for job in jobs]
        return results

    def begin(self, conn: sqlite3.Connection) -> None:
        """Start a write transaction from a read operation that found something to write."""
        self._begin(conn)

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retrying a locked file every ~millisecond for ``busy_timeout`` s.

        SQLite's own busy handler sleeps ever longer (up to 100 ms) between tries, so
        with several processes writing, a waiting writer would often sleep through the
        moment the lock was free; the connection's own timeout is kept at a few ms.
        """
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.0002
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    def _fail_all(self, exc: sqlite3.Error) -> None:
        logger.error("Cannot open the SQLite file %s: %s", self.path, exc)
        error = _translated(exc, self.path)
        while True:
            try:
                jobs = self._jobs.get(timeout=0.5)
            except queue.Empty:
                if self._thread is None:
                    return
                continue
            if jobs is None:
                return
            _hand_back(jobs, _Outcomes([(job.future, None, error) for job in jobs]))


def _attempt(job: _Job, conn: sqlite3.Connection) -> tuple[asyncio.Future[Any], Any, Any]:
    try:
        return job.future, job.operation(conn), None
    except Exception as exc:
        return job.future, None, exc


def _hand_back(group: list[_Job], outcomes: _Outcomes) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    loops = {id(job.future): job.loop for job in group}
    for item in outcomes.done:
        by_loop.setdefault(loops[id(item[0])], []).append(item)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop closed while the operation ran
            continue


def _settle(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in items:
        if future.done():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _translated(exc: BaseException, path: str) -> BaseException:
    """A driver error with the file named (the caller maps it to taskiq's errors)."""
    if isinstance(exc, sqlite3.Error):
        return sqlite3.OperationalError(f"{exc} (SQLite file {path})")
    return exc


_shared: dict[tuple[int, str], Database] = {}


def shared(path: str, busy_timeout: float = 10.0, synchronous: str = "NORMAL") -> Database:
    """The `Database` of ``path`` in this process (one per file, per process)."""
    key = (os.getpid(), _resolved(path))
    found = _shared.get(key)
    if found is None:
        found = _shared[key] = Database(path, busy_timeout, synchronous)
    return found


def _resolved(path: str) -> str:
    if path == ":memory:" or path.startswith("file:"):
        return path
    return os.path.realpath(path)
