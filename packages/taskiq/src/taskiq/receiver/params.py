"""Binds a message's arguments to the task's signature and casts them to its annotations.

A JSON round trip turns a dataclass into a dict and may turn numbers into
strings; casting with pydantic gives the task the types it declared. Casting is
best effort: a value that does not validate is passed as it came.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from taskiq.depends.signature import call_signature, dependency_names, type_hints

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class ArgumentBindError(TypeError):
    """The message's arguments do not fit the task's signature."""


class TaskParameters:
    """The signature of one task function, split into call parameters and dependencies.

    Dependency parameters (``= TaskiqDepends()`` or ``Annotated[..., TaskiqDepends()]``)
    are filled by the injector, so arguments are bound to the other parameters
    only. Each castable parameter gets a type adapter, built once per task:
    building one is costly, using it is cheap.
    """

    def __init__(self, func: Callable[..., Any], cast_types: bool) -> None:
        full = inspect.signature(func)
        hints = type_hints(func)
        self.dependencies = dependency_names(func)
        self.signature = call_signature(func)
        self._keywords_only = bool(self.dependencies) and not any(
            p.kind is inspect.Parameter.VAR_POSITIONAL for p in full.parameters.values()
        )
        self.adapters = _adapters(self.signature, hints) if cast_types else {}

    def bind(
        self,
        task_name: str,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> inspect.BoundArguments:
        """Bind (and cast) the arguments; raise `ArgumentBindError` if they do not fit.

        Keywords naming a dependency parameter are left out here; `call_arguments`
        passes them instead of the injected value.
        """
        call_kwargs = {k: v for k, v in kwargs.items() if k not in self.dependencies}
        try:
            bound = self.signature.bind(*args, **call_kwargs)
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

    def call_arguments(
        self,
        bound: inspect.BoundArguments,
        injected: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword arguments for the call: bound values plus dependencies.

        Dependencies are passed by keyword; when a task declares one before its
        ordinary parameters, those go by keyword too so that positions still match.
        """
        explicit = {k: v for k, v in kwargs.items() if k in self.dependencies}
        values = {**injected, **explicit}
        if not self._keywords_only:
            return bound.args, {**bound.kwargs, **values}
        positional: list[Any] = []
        keywords: dict[str, Any] = dict(values)
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            if kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                keywords.update(value)
            else:
                keywords[name] = value
        return tuple(positional), keywords


def _cast(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return value


def _adapters(signature: inspect.Signature, hints: dict[str, Any]) -> dict[str, TypeAdapter[Any]]:
    adapters: dict[str, TypeAdapter[Any]] = {}
    for name, param in signature.parameters.items():
        hint = hints.get(name)
        if hint is None or hint is Any or param.kind in _VARIADIC:
            continue
        adapter = _adapter(hint)
        if adapter is not None:
            adapters[name] = adapter
    return adapters


def _adapter(hint: Any) -> TypeAdapter[Any] | None:
    try:
        return TypeAdapter(hint)
    except Exception:  # a type pydantic cannot describe: pass such values as they are
        return None
