"""Carries exceptions across process boundaries without trusting the payload.

An error is stored as data: the class's ``module:qualname``, its message and
its JSON-safe ``args``. Decoding never imports a module and never calls
anything that is not an exception class: the class is looked up among modules
the reading process has already imported; if it is missing, a
`RemoteTaskError` stand-in carries the original type name and message; if
the name resolves to something that is not an exception class, the payload is
forged and `SecurityError` is raised.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from taskiq.exceptions import SecurityError


class RemoteTaskError(Exception):
    """Stand-in for an exception whose class is not importable in this process."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.remote_message = message


def _json_safe(args: tuple[Any, ...]) -> list[Any] | None:
    try:
        json.dumps(args)
    except (TypeError, ValueError):
        return None
    return list(args)


def encode_exception(exc: BaseException) -> dict[str, Any]:
    """Describe ``exc`` as plain data that any serializer can carry."""
    cls = type(exc)
    if isinstance(exc, RemoteTaskError):
        type_name, message = exc.type_name, exc.remote_message
    else:
        type_name, message = f"{cls.__module__}:{cls.__qualname__}", str(exc)
    return {
        "type": type_name,
        "message": message,
        "args": _json_safe(exc.args),
        "traceback": "".join(traceback.format_exception(cls, exc, exc.__traceback__)),
    }


def _resolve(type_name: str) -> type[BaseException] | None:
    module_name, _, qualname = type_name.partition(":")
    target: Any = sys.modules.get(module_name)
    if target is None or not qualname:
        return None
    for part in qualname.split("."):
        if part.startswith("_") and part != "__main__":
            raise SecurityError(reason=f"{type_name!r} names a private attribute")
        target = getattr(target, part, None)
        if target is None:
            return None
    if not (isinstance(target, type) and issubclass(target, BaseException)):
        raise SecurityError(reason=f"{type_name!r} is not an exception class")
    return target


def decode_exception(payload: Any) -> BaseException:
    """Rebuild an exception from `encode_exception`'s data; see the module docstring."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise SecurityError(reason="an error payload must be an object with a 'type' string")
    type_name: str = payload["type"]
    message = str(payload.get("message", ""))
    cls = _resolve(type_name)
    if cls is None:
        return RemoteTaskError(type_name, message)
    args = payload.get("args")
    try:
        exc = cls(*args) if isinstance(args, list) else cls(message)
    except Exception:
        return RemoteTaskError(type_name, message)
    if str(exc) != message and not isinstance(args, list):
        return RemoteTaskError(type_name, message)
    return exc
