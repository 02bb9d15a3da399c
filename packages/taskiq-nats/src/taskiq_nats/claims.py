"""Claims in a JetStream key-value bucket: compare-and-set on the entry's revision.

One entry per claim (``<result bucket>_claims``), its value the owner and the
wall-clock time the claim ends. Every change is a create (fails if the key
exists) or an update/delete on the revision just read (fails if anyone wrote in
between), so two processes never both take a key; a lost race is retried on the
fresh entry. Expiry compares ``until`` with the reader's clock, so processes are
assumed to agree on the time to within a fraction of a claim's ttl (NTP does).
The bucket's ``max_age`` bounds how long a record outlives its claim; a claim
longer than it lasts only as long as the bucket keeps entries (`CLAIMS_BUCKET_TTL`
unless the results bucket's ttl is longer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from taskiq.control.claims import ClaimStore, check_ttl
from taskiq.exceptions import ResultBackendError

from taskiq_nats._errors import nats_errors
from taskiq_nats.buckets import LazyBucket, result_key

#: Seconds the claims bucket keeps an entry nobody rewrites, at least.
CLAIMS_BUCKET_TTL = 7 * 24 * 3600.0
#: Compare-and-set attempts of one operation before it reports contention.
CAS_ATTEMPTS = 50

_Current = tuple[str, float, int]  # owner, until (epoch s), revision


def claim_key(key: str) -> str:
    """The KV key of the claim on ``key`` (any text; unsafe characters are encoded)."""
    return result_key("claim", key)


class NATSClaimStore(ClaimStore):
    """Claims in the bucket ``bucket``, over a result backend's connection."""

    def __init__(self, client: Callable[[], Client | None], bucket: str, ttl: float | None) -> None:
        max_age = max(ttl or 0.0, CLAIMS_BUCKET_TTL)
        config = KeyValueConfig(bucket=bucket, ttl=max_age, storage=StorageType.FILE)
        self._bucket = LazyBucket(client, config)

    async def claim(self, key: str, owner: str, ttl: float) -> str:
        value = _value(owner, ttl)
        kv = await self._bucket.open()
        with nats_errors(ResultBackendError, f"Cannot claim {key!r}"):
            for _ in range(CAS_ATTEMPTS):
                current = await _current(kv, key)
                try:
                    if current is None:
                        await kv.create(claim_key(key), value)
                    elif current[0] == owner or _expired(current):
                        await kv.update(claim_key(key), value, last=current[2])
                    else:
                        return current[0]
                except KeyWrongLastSequenceError:
                    continue  # someone wrote in between: look again
                return owner
        raise ResultBackendError(f"Cannot claim {key!r}: {CAS_ATTEMPTS} writers raced for it.")

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        value = _value(owner, ttl)
        kv = await self._bucket.open()
        with nats_errors(ResultBackendError, f"Cannot renew the claim on {key!r}"):
            current = await _current(kv, key)
            if current is None or current[0] != owner or _expired(current):
                return False
            try:
                await kv.update(claim_key(key), value, last=current[2])
            except KeyWrongLastSequenceError:
                return False  # taken over (after it expired) in between
            return True

    async def release(self, key: str, owner: str) -> bool:
        kv = await self._bucket.open()
        with nats_errors(ResultBackendError, f"Cannot release the claim on {key!r}"):
            current = await _current(kv, key)
            if current is None or current[0] != owner or _expired(current):
                return False
            try:
                await kv.delete(claim_key(key), last=current[2])
            except KeyWrongLastSequenceError:
                return False
            return True

    async def holder(self, key: str) -> str | None:
        kv = await self._bucket.open()
        with nats_errors(ResultBackendError, f"Cannot read the claim on {key!r}"):
            current = await _current(kv, key)
        return None if current is None or _expired(current) else current[0]


def _value(owner: str, ttl: float) -> bytes:
    return json.dumps({"owner": owner, "until": time.time() + check_ttl(ttl)}).encode()


def _expired(current: _Current) -> bool:
    return current[1] <= time.time()


async def _current(kv: KeyValue, key: str) -> _Current | None:
    """The live or expired claim entry, or None when the key holds none (or a delete)."""
    try:
        entry = await kv.get(claim_key(key))
    except (KeyNotFoundError, KeyDeletedError):
        return None
    if not entry.value:
        return None
    try:
        record = json.loads(entry.value)
        return str(record["owner"]), float(record["until"]), int(entry.revision or 0)
    except (ValueError, KeyError, TypeError):
        return "", 0.0, int(entry.revision or 0)  # unreadable: treat as expired, overwrite
