"""Carries exceptions across process boundaries without trusting the payload.

An error is stored as plain data: the class's ``module:qualname``, its message,
its JSON-safe ``args`` and public instance attributes, and the formatted
traceback. Turning that data back into an exception follows three rules:

- No import: the class is looked up only among modules this process has
  already imported (``sys.modules``), and attributes are read statically
  (`inspect.getattr_static`), so no module ``__getattr__``, property or
  metaclass hook runs.
- Nothing but exception classes: a name that resolves to anything else
  (``os:system``, ``builtins:eval``, a plain class), or that walks through a
  private attribute, marks a forged payload and raises `SecurityError`.
- No user code: builtin exceptions are constructed normally; other classes are
  created with their builtin base's ``__new__`` and get their stored ``args``
  and attributes written through the builtin slots, so none of their
  ``__new__``, ``__init__``, ``__setattr__`` or ``__str__`` runs. The message is
  checked with the builtin ``__str__``; a class with its own ``__str__`` is
  trusted to render its restored attributes when the caller asks.

When the class is not available here (module not imported, name missing, or
its builtin ``str()`` would not reproduce the message), or it is not an ``Exception``
(``SystemExit``, ``KeyboardInterrupt``), the result is a `RemoteTaskError`
stand-in that keeps the original type name, message and traceback.
"""

from __future__ import annotations

import builtins
import inspect
import json
import sys
import traceback
from typing import Any

from taskiq.exceptions import SecurityError


class RemoteTaskError(Exception):
    """Stand-in for a task's exception whose class cannot be rebuilt in this process.

    ``type_name`` is the original ``module:qualname``, ``remote_message`` its
    message and ``remote_traceback`` the traceback formatted in the worker.
    """

    def __init__(self, type_name: str, message: str, remote_traceback: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.remote_message = message
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteTaskError, (self.type_name, self.remote_message, self.remote_traceback))


def _is_json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _public_attrs(exc: BaseException) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(exc).items()
        if not key.startswith("__") and _is_json_safe(value)
    }


def _message_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return repr(exc)


def encode_exception(exc: BaseException) -> dict[str, Any]:
    """Describe ``exc`` as plain data that any serializer can carry."""
    cls = type(exc)
    if isinstance(exc, RemoteTaskError):
        type_name, message = exc.type_name, exc.remote_message
    else:
        type_name, message = f"{cls.__module__}:{cls.__qualname__}", _message_of(exc)
    args = list(exc.args)
    return {
        "type": type_name,
        "message": message,
        "args": args if _is_json_safe(args) else None,
        "attrs": _public_attrs(exc),
        "traceback": "".join(traceback.format_exception(cls, exc, exc.__traceback__)),
    }


def _resolve(type_name: str) -> type[BaseException] | None:
    """Find an already-imported exception class; None if absent, SecurityError if unsafe."""
    module_name, _, qualname = type_name.partition(":")
    target: Any = sys.modules.get(module_name)
    if target is None or not qualname:
        return None
    for part in qualname.split("."):
        if not part or part.startswith("_"):
            raise SecurityError(reason=f"{type_name!r} names a private or empty attribute")
        try:
            target = inspect.getattr_static(target, part)
        except AttributeError:
            return None
    if not (isinstance(target, type) and issubclass(target, BaseException)):
        raise SecurityError(reason=f"{type_name!r} is not an exception class")
    return target


def _is_builtin(cls: type) -> bool:
    """True for the interpreter's own classes, whatever ``__module__`` a class claims."""
    return vars(builtins).get(cls.__name__) is cls


def _builtin_base(cls: type[BaseException]) -> type[BaseException]:
    base: type[BaseException] = next(base for base in cls.__mro__ if _is_builtin(base))
    return base


#: The builtin slots behind ``exc.args`` and ``exc.__dict__``: writing through them
#: skips any ``__setattr__``/``__getattribute__`` or property a subclass defines.
_ARGS_SLOT: Any = vars(BaseException)["args"]
_DICT_SLOT: Any = vars(BaseException)["__dict__"]


def _construct(cls: type[BaseException], args: list[Any], attrs: dict[str, Any]) -> BaseException:
    """Create the exception without running any method written in Python."""
    if _is_builtin(cls):
        return cls(*args)
    exc = _builtin_base(cls).__new__(cls, *args)
    _ARGS_SLOT.__set__(exc, tuple(args))
    _DICT_SLOT.__get__(exc).update(
        {key: value for key, value in attrs.items() if not key.startswith("__")},
    )
    return exc


def _renders_message(exc: BaseException, message: str) -> bool:
    """Whether ``exc`` prints as ``message``, judged without calling a Python ``__str__``."""
    cls = type(exc)
    own_str = any("__str__" in vars(k) for k in cls.__mro__ if not _is_builtin(k))
    if own_str:
        return True
    return bool(_builtin_base(cls).__str__(exc) == message)


def decode_exception(payload: Any) -> BaseException:
    """Rebuild an exception from `encode_exception`'s data; see the module docstring."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise SecurityError(reason="an error payload must be an object with a 'type' string")
    type_name: str = payload["type"]
    message = str(payload.get("message", ""))
    stand_in = RemoteTaskError(type_name, message, str(payload.get("traceback") or ""))
    cls = _resolve(type_name)
    if cls is None or not issubclass(cls, Exception):
        return stand_in
    args = payload.get("args")
    attrs = payload.get("attrs")
    try:
        exc = _construct(
            cls,
            args if isinstance(args, list) else [message],
            attrs if isinstance(attrs, dict) else {},
        )
        same_message = _renders_message(exc, message)
    except Exception:
        return stand_in
    return exc if same_message else stand_in
