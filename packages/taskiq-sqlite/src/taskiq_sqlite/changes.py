"""Noticing another process's commit within milliseconds, without a server to push it.

SQLite has no notifications between processes. On Linux the kernel has them:
every commit writes the ``-wal`` file, and an inotify watch on the folder
(`taskiq_sqlite.inotify`) wakes the waiters at once and costs nothing while
nothing happens. Elsewhere, ``PRAGMA data_version`` changes on a connection
whenever another connection committed; reading it costs microseconds (it reads
the WAL index in shared memory), so a `ChangeWatcher` polls it on the event
loop, only while someone waits (an idle worker, a client in ``wait_result``),
from 1 ms after a change backing off to ``max_interval``. Measured latencies
and idle costs of both are in docs/brokers/sqlite.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from taskiq_sqlite import schema
from taskiq_sqlite.inotify import FolderWatch, watch

#: The first poll after a change; doubles up to the watcher's ``max_interval``.
FIRST_INTERVAL = 0.001
#: The longest pause between two polls unless told otherwise.
DEFAULT_MAX_INTERVAL = 0.004


class ChangeWatcher:
    """Wakes waiters when another connection commits to the file."""

    def __init__(self, path: str, max_interval: float = DEFAULT_MAX_INTERVAL) -> None:
        self.path = path
        self.max_interval = max(FIRST_INTERVAL, max_interval)
        self._conn: sqlite3.Connection | None = None
        self._version = -1
        self._changed: asyncio.Event | None = None
        self._waiters = 0
        self._poller: asyncio.Task[None] | None = None
        self._watch: FolderWatch | None = None
        self._watch_loop: asyncio.AbstractEventLoop | None = None
        self._tried_watch = False
        #: A change came while nobody waited: the next `wait` returns at once, so a
        #: commit between a caller's last look and its wait is never missed.
        self._pending = False

    async def wait(self, timeout: float) -> bool:
        """Wait until the file changes or ``timeout`` s pass; True if it changed."""
        if self._pending:
            self._pending = False
            return True
        event = self._event()
        self._waiters += 1
        self._ensure_poller()
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, timeout))
            return event.is_set()
        finally:
            self._waiters -= 1

    def poke(self) -> None:
        """Wake every waiter now (this process wrote something they wait for)."""
        if self._waiters == 0:
            self._pending = True
        if self._changed is not None:
            self._changed.set()

    def close(self) -> None:
        """Stop polling or watching and close the watching connection."""
        self._stop_watching()
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _event(self) -> asyncio.Event:
        if self._changed is None or self._changed.is_set():
            self._changed = asyncio.Event()
        return self._changed

    def _ensure_poller(self) -> None:
        if self._watching():
            return
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def _watching(self) -> bool:
        """True once the inotify watch runs on this loop (started on the first wait)."""
        loop = asyncio.get_running_loop()
        if self._watch is not None and self._watch_loop is loop:
            return True
        self._stop_watching()
        if self._tried_watch and self._watch_loop is loop:
            return False
        self._tried_watch, self._watch_loop = True, loop
        self._watch = watch(self.path)
        if self._watch is None:
            return False
        loop.add_reader(self._watch.fd, self._on_event)
        return True

    def _on_event(self) -> None:
        if self._watch is not None and self._watch.drain():
            self.poke()

    def _stop_watching(self) -> None:
        if self._watch is not None:
            if self._watch_loop is not None and not self._watch_loop.is_closed():
                self._watch_loop.remove_reader(self._watch.fd)
            self._watch.close()
            self._watch = None
        self._tried_watch = False

    async def _poll(self) -> None:
        interval = FIRST_INTERVAL
        while self._waiters > 0:
            await asyncio.sleep(interval)
            if self._read_version_changed():
                self.poke()
                interval = FIRST_INTERVAL
            else:
                interval = min(interval * 2, self.max_interval)

    def _read_version_changed(self) -> bool:
        if self._conn is None:
            self._conn = schema.connect(self.path, 1.0, "NORMAL")
        try:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return True  # let the waiters look themselves; they report what is wrong
        changed = version != self._version
        self._version = version
        return changed
