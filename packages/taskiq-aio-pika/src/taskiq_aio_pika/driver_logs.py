"""Keep aio-pika's and aiormq's own log lines to one line each, as ours are.

During an outage the drivers log every failed attempt, some with a full
traceback (``Cancelling cause reader exited abnormally``, ``error when creating
transport``). The worker already says what happened in one line per attempt
(`taskiq.reconnect`), so their tracebacks are dropped unless the driver's
logger is enabled for DEBUG; their one-line messages stay.
"""

from __future__ import annotations

import logging

#: The driver loggers that log connection trouble.
DRIVER_LOGGERS = ("aiormq.connection", "aio_pika.robust_connection", "aio_pika.tools")


class TracebackOnlyAtDebug(logging.Filter):
    """Strip the traceback from a record unless its logger is enabled for DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = TracebackOnlyAtDebug()


def quiet_driver_tracebacks() -> None:
    """Install the filter on the driver loggers (idempotent)."""
    for name in DRIVER_LOGGERS:
        driver = logging.getLogger(name)
        if _FILTER not in driver.filters:
            driver.addFilter(_FILTER)
