"""A key-value bucket opened on first use over a result backend's connection.

The worker registry and the claim store keep their records in buckets of their
own beside the results bucket; each opens (or creates) its bucket the first
time it is used, and again after the backend reconnected with a new client.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable

from nats.aio.client import Client
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue
from taskiq.exceptions import ResultBackendError

from taskiq_nats import connection
from taskiq_nats._errors import NOT_STARTED, nats_errors


class LazyBucket:
    """``await bucket.open()`` gives the bucket of ``config`` on the current client."""

    def __init__(self, client: Callable[[], Client | None], config: KeyValueConfig) -> None:
        self._client = client
        self.config = config
        self._kv: KeyValue | None = None
        self._opened_on: Client | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return str(self.config.bucket)

    async def open(self) -> KeyValue:
        async with self._lock:
            client = self._client()
            if client is None:
                raise ResultBackendError(NOT_STARTED)
            if self._kv is None or self._opened_on is not client:  # (re)connected since
                with nats_errors(
                    ResultBackendError, f"Cannot open or create the bucket {self.name!r}"
                ):
                    self._kv = await connection.open_bucket(client, self.config)
                self._opened_on = client
            return self._kv


_KEY_SAFE = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


def result_key(kind: str, task_id: str) -> str:
    """The KV key of ``kind`` (``result``/``progress``); unsafe ids are base64-encoded."""
    if _KEY_SAFE.match(task_id) and not task_id.startswith(".") and ".." not in task_id:
        return f"{kind}.{task_id}"
    encoded = base64.urlsafe_b64encode(task_id.encode()).decode().rstrip("=")
    return f"{kind}.b64_{encoded}"
