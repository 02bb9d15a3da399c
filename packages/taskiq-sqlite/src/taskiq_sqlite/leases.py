"""Lease renewal on a thread of its own: a worker alive keeps every delivery it holds.

A delivery is held by its worker until ``available_at`` (the lease). This thread,
with its own connection, extends every lease of its owner every ``lease / 4`` s
in one statement, whatever the event loop does: a task that blocks the loop
(``time.sleep`` in an ``async def``) for an hour is not run a second time. Only
a worker that died (SIGKILL, a lost machine) stops renewing, and then any other
worker takes its deliveries back once their lease has run out.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from taskiq_sqlite import messages, schema

logger = logging.getLogger("taskiq_sqlite.leases")


class LeaseRenewer:
    """Extends the leases of one owner on one queue until stopped."""

    def __init__(
        self, path: str, queue: str, owner: str, lease: float, busy_timeout: float
    ) -> None:
        self.path = path
        self.queue = queue
        self.owner = owner
        self.lease = lease
        self.busy_timeout = busy_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start renewing (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="taskiq-sqlite-leases", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop renewing and wait for the thread (at most one statement's time)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.busy_timeout + 1)
            self._thread = None

    def _run(self) -> None:
        try:
            conn = schema.connect(self.path, self.busy_timeout, "NORMAL")
        except sqlite3.Error as exc:
            logger.error("Cannot renew leases: cannot open %s: %s", self.path, exc)
            return
        try:
            while not self._stop.wait(self.lease / 4):
                self.renew_once(conn)
        finally:
            conn.close()

    def renew_once(self, conn: sqlite3.Connection) -> None:
        """One renewal; a failure is logged and retried next round."""
        try:
            messages.renew(conn, self.queue, self.owner, self.lease)
        except sqlite3.Error as exc:
            logger.warning(
                "Could not renew the leases of %s on %s: %s; trying again in %.1f s.",
                self.owner,
                self.path,
                exc,
                self.lease / 4,
            )
