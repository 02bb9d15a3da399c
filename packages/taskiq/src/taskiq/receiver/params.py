"""Binds a message's arguments to the task's signature and casts them to its annotations.

A JSON round trip turns a dataclass into a dict and may turn numbers into
strings; casting with pydantic gives the task the types it declared. Casting is
best effort, as in Taskiq: a value that does not validate is passed as it came,
and a WARNING names the task, the parameter, the expected type and the value's
type, once per task and parameter (a producer sending the wrong type usually
does so on every call, and one line is enough to find it).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from taskiq.binding import PlainBinder
from taskiq.depends.signature import call_signature, dependency_names, type_hints

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)

logger = logging.getLogger("taskiq.receiver")


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
        self.dependencies = dependency_names(func)
        self.signature = call_signature(func)
        self._keywords_only = bool(self.dependencies) and not any(
            p.kind is inspect.Parameter.VAR_POSITIONAL for p in full.parameters.values()
        )
        self._plain = PlainBinder(self.signature)
        hints = type_hints(func)
        self.adapters = _adapters(self.signature, hints) if cast_types else {}
        self._hints = {name: hints[name] for name in self.adapters}
        self._warned: set[str] = set()

    def bind(
        self,
        task_name: str,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword arguments for the call, cast to the annotations.

        Injected values are added by the caller as ``{**injected, **keywords}``:
        a keyword naming a dependency parameter is passed through and wins.
        Raises `ArgumentBindError` if the arguments do not fit the signature.
        """
        explicit: dict[str, Any] = {}
        if kwargs and self.dependencies:
            explicit = {k: v for k, v in kwargs.items() if k in self.dependencies}
            if explicit:
                kwargs = {k: v for k, v in kwargs.items() if k not in explicit}
        arguments = self._plain.bind(args, kwargs)
        if arguments is not None:
            if self.adapters:
                self._cast_all(task_name, arguments)
            return (), ({**arguments, **explicit} if explicit else arguments)
        bound = self._bind_any(task_name, args, kwargs)
        self._cast_all(task_name, bound.arguments)
        positional, keywords = self._split(bound)
        return positional, {**keywords, **explicit}

    def _bind_any(
        self,
        task_name: str,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> inspect.BoundArguments:
        try:
            return self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ArgumentBindError(
                f"Task {task_name!r} cannot be called with args={args!r} kwargs={kwargs!r}: "
                f"{exc}. Send arguments that match {self.signature}.",
            ) from exc

    def _cast_all(self, task_name: str, arguments: dict[str, Any]) -> None:
        for name, adapter in self.adapters.items():
            if name in arguments:
                try:
                    arguments[name] = adapter.validate_python(arguments[name])
                except ValidationError as exc:
                    self._warn_uncast(task_name, name, arguments[name], exc)

    def _warn_uncast(self, task_name: str, name: str, value: Any, exc: ValidationError) -> None:
        """Say once per parameter that a value is passed uncast, and why."""
        if name in self._warned:
            return
        self._warned.add(name)
        errors = exc.errors(include_url=False)
        reason = errors[0]["msg"] if errors else str(exc)
        logger.warning(
            "Task %r: argument %r is a %s that does not cast to %s (%s); passing it as is. "
            "Send a value of the annotated type (this is logged once per task and parameter).",
            task_name,
            name,
            type(value).__name__,
            _type_name(self._hints[name]),
            reason,
        )

    def _split(self, bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Dependencies go by keyword; if one precedes ordinary parameters, so do those."""
        if not self._keywords_only:
            return bound.args, bound.kwargs
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            if kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                keywords.update(value)
            else:
                keywords[name] = value
        return tuple(positional), keywords


def _type_name(hint: Any) -> str:
    """``int`` for a plain class, ``list[int]`` or ``Optional[str]`` for the others."""
    if isinstance(hint, type) and not getattr(hint, "__args__", None):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


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
