"""Claims: a key held by one owner for a while, shared by every process of a system.

Task control and the scheduler coordinate through one primitive. A unique
task's key is claimed by the task id that runs it; a concurrency slot is
claimed by the worker running the task and renewed while it runs; a
scheduler replica claims a fire (schedule id + fire time) before sending it;
a cancellation request is a claim on the task id that no one releases. A
claim expires after its ``ttl`` unless renewed, so an owner that dies (a
SIGKILLed worker, a lost machine) gives its keys back within that time.

Result backends that can coordinate (Redis, NATS key-value, in-memory)
implement `SupportsClaims`; `claims_of` finds the store, or says in one line
that the backend cannot, so a feature that needs it fails at start-up.
"""

from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable

from taskiq.exceptions import NotSupportedError


class ClaimStore(abc.ABC):
    """Keys with one owner each and an expiry, atomic across processes.

    ``ttl`` is in seconds (a float; at least 1 ms). Every operation is atomic on
    the store's server: two processes claiming one free key never both get it.
    """

    @abc.abstractmethod
    async def claim(self, key: str, owner: str, ttl: float) -> str:
        """Take ``key`` for ``owner`` for ``ttl`` s if it is free, and return its holder.

        The holder returned is ``owner`` when the claim succeeded (also when
        ``owner`` already held it: then its expiry is extended to ``ttl``), else
        the other owner that holds it now.
        """

    @abc.abstractmethod
    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s claim to ``ttl`` s from now; False if it no longer holds it."""

    @abc.abstractmethod
    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` back if ``owner`` holds it; False if it did not (nothing changes)."""

    @abc.abstractmethod
    async def holder(self, key: str) -> str | None:
        """Who holds ``key`` now, or None when it is free (never claimed, released, expired)."""


@runtime_checkable
class SupportsClaims(Protocol):
    """A result backend that can hold claims for the whole system."""

    def claim_store(self) -> ClaimStore:
        """The claim store on this backend's transport."""


def claims_of(broker: object, feature: str = "this feature") -> ClaimStore:
    """The claim store of ``broker``'s result backend, for ``feature`` (named in the error).

    Raises `NotSupportedError` when the backend cannot hold claims; call it at
    start-up so that a missing capability is reported before the first task.
    """
    backend = getattr(broker, "result_backend", None)
    if not isinstance(backend, SupportsClaims):
        name = type(backend).__name__
        raise NotSupportedError(
            f"Cannot use {feature}: the result backend {name} cannot hold claims. Use a "
            "Redis, NATS key-value or in-memory result backend.",
            feature=feature,
            implementation=name,
        )
    return backend.claim_store()


def check_ttl(ttl: float) -> float:
    """``ttl`` if it is a usable expiry, else a `ValueError` saying what is wrong."""
    if not ttl >= 0.001:  # also rejects NaN
        raise ValueError(f"A claim's ttl must be at least 0.001 s, not {ttl!r}.")
    return ttl
