"""Binds a message's arguments to the task's signature and casts them to its annotations.

A JSON round trip turns a dataclass into a dict and may turn numbers into
strings; casting with pydantic gives the task the types it declared. Casting is
best effort: a value that does not validate is passed as it came.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from taskiq_dependencies.dependency import Dependency

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class ArgumentBindError(TypeError):
    """The message's arguments do not fit the task's signature."""


class TaskParameters:
    """The signature of one task function, with one type adapter per castable parameter.

    Built once per task; building an adapter is costly, using it is cheap.
    """

    def __init__(self, func: Callable[..., Any], cast_types: bool) -> None:
        self.signature = inspect.signature(func)
        self.adapters = _adapters(func, self.signature) if cast_types else {}

    def bind(
        self,
        task_name: str,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> inspect.BoundArguments:
        """Bind (and cast) the arguments; raise `ArgumentBindError` if they do not fit."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ArgumentBindError(
                f"Task {task_name!r} cannot be called with args={args!r} kwargs={kwargs!r}: "
                f"{exc}. Send arguments that match {self.signature}.",
            ) from exc
        for name, value in bound.arguments.items():
            adapter = self.adapters.get(name)
            if adapter is not None:
                bound.arguments[name] = _cast(adapter, value)
        return bound


def _cast(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return value


def _adapters(
    func: Callable[..., Any], signature: inspect.Signature
) -> dict[str, TypeAdapter[Any]]:
    hints = _type_hints(func)
    adapters: dict[str, TypeAdapter[Any]] = {}
    for name, param in signature.parameters.items():
        hint = hints.get(name)
        if hint is None or hint is Any or param.kind in _VARIADIC or _is_dependency(param, hint):
            continue
        adapter = _adapter(hint)
        if adapter is not None:
            adapters[name] = adapter
    return adapters


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: cast nothing
        return {}


def _is_dependency(param: inspect.Parameter, hint: Any) -> bool:
    if isinstance(param.default, Dependency):
        return True
    if typing.get_origin(hint) is typing.Annotated:
        return any(isinstance(meta, Dependency) for meta in hint.__metadata__)
    return False


def _adapter(hint: Any) -> TypeAdapter[Any] | None:
    try:
        return TypeAdapter(hint)
    except Exception:  # a type pydantic cannot describe: pass such values as they are
        return None
