"""Keep a broker's claims on its messages alive while the event loop is blocked.

Brokers renew what they hold (Redis lease extensions, NATS ``in_progress``)
from the event loop. A task that blocks the loop stops the renewals, the server
thinks the worker died, and another worker runs the task a second time while
the first run is still going. `BlockedLoopKeepAlive` is a daemon thread that
does the renewal on the loop's behalf, with the broker's own connection for
threads, only while the loop is blocked, and only until the blocking task has
run past its ``timeout`` label (no label: for as long as the process lives).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from taskiq.receiver.loop_watchdog import LoopHeartbeat
from taskiq.receiver.running import task_on_stack

logger = logging.getLogger("taskiq.receiver.keepalive")


class Renewer(Protocol):
    """What a broker renews from the helper thread; both methods run on that thread."""

    def renew(self) -> None:
        """Renew every claim the worker holds now (blocking I/O is fine here)."""

    def close(self) -> None:
        """Release the thread's connection; called once when the thread ends."""


class BlockedLoopKeepAlive:
    """Calls ``renewer.renew()`` at once, then every ``interval`` s, while the loop is blocked."""

    def __init__(self, renewer: Renewer, interval: float, name: str) -> None:
        self.renewer = renewer
        self.interval = interval
        self.heartbeat = LoopHeartbeat.here()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._warned: str | None = None

    def start(self) -> BlockedLoopKeepAlive:
        """Start the thread (call from the event loop whose claims it keeps)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the thread; it closes the renewer's connection on its way out."""
        self._stop.set()

    def _run(self) -> None:
        """Renew as soon as a block is seen, then every ``interval`` while it lasts.

        At once, because the loop's own last renewal may already be one interval old.
        """
        tick = min(self.interval / 4, 0.25)
        last = 0.0  # when this thread last renewed during the current blocked stretch
        try:
            while not self._stop.wait(tick):
                if self.heartbeat.loop.is_closed():
                    return
                if self.heartbeat.blocked_for() < 2 * tick:
                    last = 0.0
                    continue
                now = time.monotonic()
                if now - last >= self.interval and self._allowed():
                    self._renew()
                    last = now
        finally:
            self._close()

    def _allowed(self) -> bool:
        """False once the task blocking the loop has outrun its timeout label."""
        task, _ = task_on_stack(self.heartbeat.thread_id)
        if task is None or not task.overdue():
            return True
        if self._warned != task.task_id:
            self._warned = task.task_id
            logger.warning(
                "Task %r (id %s) has blocked the event loop past its timeout of %s s; its "
                "messages are no longer kept alive and will be delivered again.",
                task.name,
                task.task_id,
                task.timeout,
            )
        return False

    def _renew(self) -> None:
        try:
            self.renewer.renew()
        except Exception as exc:  # the thread must outlive any failure of one renewal
            logger.warning("Renewing from the keep-alive thread failed: %r", exc)

    def _close(self) -> None:
        try:
            self.renewer.close()
        except Exception as exc:
            logger.debug("Closing the keep-alive connection failed: %r", exc)
