"""Binding call arguments to plain parameters by name, without inspect's machinery.

``inspect.Signature.bind`` costs several microseconds per call: a sixth of an
in-process round trip, paid twice (``kiq`` checks the arguments, the worker
binds them). Nearly every task takes plain parameters (positional-or-keyword
and keyword-only, no ``*args``/``**kwargs``), and for those binding is a few
dict operations. Anything else, and every call that does not fit, goes to the
slow path, which also explains what is wrong.
"""

from __future__ import annotations

import inspect
from typing import Any

_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_PLAIN = (_POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class PlainBinder:
    """Binds arguments to a signature of plain parameters; None means "use the slow path"."""

    __slots__ = ("_min_args", "_names", "_positional", "_required", "applies")

    def __init__(self, signature: inspect.Signature) -> None:
        params = signature.parameters.values()
        #: False when some parameter is positional-only or variadic: never bind here.
        self.applies = all(p.kind in _PLAIN for p in params)
        self._positional = tuple(p.name for p in params if p.kind is _POSITIONAL_OR_KEYWORD)
        self._names = frozenset(p.name for p in params)
        self._required = frozenset(p.name for p in params if p.default is p.empty)
        # Calls with positional arguments only (the usual ``kiq(1, 2)``) fit when their
        # count is between the required leading parameters and all positional ones.
        leading = [p.name for p in params if p.kind is _POSITIONAL_OR_KEYWORD]
        required_at = [i for i, name in enumerate(leading) if name in self._required]
        keyword_only_required = self._required - set(leading)
        self._min_args = (
            None
            if keyword_only_required or not self.applies
            else (required_at[-1] + 1 if required_at else 0)
        )

    def fits(self, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> bool:
        """Tell whether the arguments bind, without building the binding (for ``kiq``)."""
        if not kwargs and self._min_args is not None:
            return self._min_args <= len(args) <= len(self._positional)
        return self.bind(args, kwargs) is not None

    def bind(
        self, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The arguments by parameter name, or None if they do not simply fit."""
        if not kwargs and self._min_args is not None:  # the usual kiq(1, 2)
            if self._min_args <= len(args) <= len(self._positional):
                return dict(zip(self._positional, args))  # noqa: B905 - shorter is fine
            return None
        if not self.applies or len(args) > len(self._positional):
            return None
        arguments = dict(zip(self._positional, args))  # noqa: B905 - shorter is fine
        for name, value in kwargs.items():
            if name in arguments or name not in self._names:
                return None
            arguments[name] = value
        return arguments if self._required.issubset(arguments) else None
