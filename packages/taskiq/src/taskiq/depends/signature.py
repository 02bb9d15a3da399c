"""Which parameters of a task the caller supplies, and which the injector fills."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from taskiq_dependencies.dependency import Dependency


def type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations of ``func`` (with ``Annotated`` extras); {} if unresolvable."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # forward references that cannot be resolved
        return {}


def is_dependency(param: inspect.Parameter, hint: Any | None) -> bool:
    """Tell whether the injector fills ``param`` (``= TaskiqDepends()`` or ``Annotated``)."""
    if isinstance(param.default, Dependency):
        return True
    if typing.get_origin(hint) is typing.Annotated:
        return any(isinstance(meta, Dependency) for meta in getattr(hint, "__metadata__", ()))
    return False


def dependency_names(func: Callable[..., Any]) -> frozenset[str]:
    """Names of the parameters of ``func`` that the injector fills."""
    hints = type_hints(func)
    return frozenset(
        name
        for name, param in inspect.signature(func).parameters.items()
        if is_dependency(param, hints.get(name))
    )


def call_signature(func: Callable[..., Any]) -> inspect.Signature:
    """The signature a caller sees: ``func``'s parameters minus the injected ones.

    ``kiq()`` arguments are checked against it, so that a dependency declared
    as ``Annotated[Context, TaskiqDepends()]`` (with no default) is not
    reported as a missing argument.
    """
    full = inspect.signature(func)
    injected = dependency_names(func)
    return full.replace(
        parameters=[p for p in full.parameters.values() if p.name not in injected],
    )
