"""Helpers that extensions written for Taskiq import from ``taskiq.utils``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

_T = TypeVar("_T")


@overload
async def maybe_awaitable(value: Awaitable[_T]) -> _T: ...


@overload
async def maybe_awaitable(value: _T) -> _T: ...


async def maybe_awaitable(value: Any) -> Any:
    """Await ``value`` if it is awaitable, else return it: call sync or async hooks alike."""
    if inspect.isawaitable(value):
        return await value
    return value
