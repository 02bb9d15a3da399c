"""A namespace shared by event handlers, dependencies and tasks of one process."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any


class TaskiqState(MutableMapping[str, Any]):
    """Holds whatever startup handlers put in it (``state.db_pool = ...``).

    Values are reachable three ways, all backed by the same storage: attributes
    (``state.pool``), items (``state["pool"]``) and ``get_value``/``set_value``.
    A missing attribute raises ``AttributeError`` naming the key, so a typo in
    a task fails loudly instead of yielding None.

    It is a mutable mapping, as Taskiq's state is a dict: ``state.get(k)``,
    ``k in state``, ``del state[k]``, ``len``, iteration, ``keys``/``values``/
    ``items``, ``pop``, ``setdefault``, ``update``, ``clear``, ``copy`` and ``==``
    with a dict work. A key named like one of these methods is stored, but read
    it as an item (``state["items"]``): the attribute is the method.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def __getattr__(self, name: str) -> Any:
        values: dict[str, Any] = object.__getattribute__(self, "_values")
        try:
            return values[name]
        except KeyError:
            raise AttributeError(
                f"TaskiqState has no value {name!r}; set it in a startup event handler "
                f"(state.{name} = ...) before using it.",
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __delitem__(self, name: str) -> None:
        del self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` (one dict lookup, not the ABC's two)."""
        return self._values.get(key, default)

    def clear(self) -> None:
        """Remove every value."""
        self._values.clear()

    def copy(self) -> dict[str, Any]:
        """A shallow copy of the values as a plain dict, as ``dict.copy`` gives."""
        return dict(self._values)

    def set_value(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        self._values[key] = value

    def get_value(self, key: str, default: Any = None) -> Any:
        """Return the value under ``key``, or ``default`` when it was never set."""
        return self._values.get(key, default)

    def __repr__(self) -> str:
        return f"TaskiqState({self._values!r})"
