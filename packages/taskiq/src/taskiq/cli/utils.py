"""Finding the user's objects and task modules from command-line strings.

Shared by ``taskiq worker`` and ``taskiq scheduler``: both take
``module:variable`` plus task modules, optionally discovered on disk.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from taskiq.exceptions import TaskiqError

logger = logging.getLogger("taskiq.cli")

#: Directories never searched by ``--fs-discover``: tools, caches and environments.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env"})


class CLIImportError(TaskiqError):
    """A ``module:variable`` or a task module given on the command line cannot be imported."""

    __template__ = "Cannot import {spec!r}: {reason}"


def add_app_dir(app_dir: str | None) -> str:
    """Put ``app_dir`` (default: the current directory) first on ``sys.path``."""
    path = os.path.abspath(app_dir or os.getcwd())
    if path not in sys.path:
        sys.path.insert(0, path)
    return path


def import_object(spec: str) -> Any:
    """Import ``module:variable`` (the variable may be dotted: ``app:state.broker``)."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise CLIImportError(
            spec=spec,
            reason="expected 'module:variable', for example 'my_project.broker:broker'.",
        )
    target: Any = _import_module(module_name, spec)
    for attr in attr_path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError as exc:
            raise CLIImportError(
                spec=spec,
                reason=f"module {module_name!r} has no attribute {attr_path!r}.",
            ) from exc
    return target


async def import_or_build(
    spec: str,
    built: type[Any] | tuple[type[Any], ...],
    error: Callable[[str], Exception] | None = None,
) -> Any:
    """Import ``module:variable``; call it first when it is a factory, not a ``built``.

    For integrations that load an application from a string, as uvicorn's
    ``--factory`` does: a factory takes no arguments and may be async. Anything
    else is returned as found, for the caller to check. Every failure raises
    ``error(reason)`` chained to its cause (default: `CLIImportError` naming
    ``spec``).
    """
    fail = error or (lambda reason: CLIImportError(spec=spec, reason=reason))
    try:
        target = import_object(spec)
    except TaskiqError as exc:
        raise fail(getattr(exc, "reason", str(exc))) from exc
    except Exception as exc:  # the module itself failed to import
        raise fail(f"importing it raised {exc!r}.") from exc
    if isinstance(target, built) or not callable(target):
        return target
    try:
        target = target()
        if inspect.isawaitable(target):
            target = await target
    except Exception as exc:
        raise fail(f"the factory raised {exc!r}.") from exc
    return target


def import_tasks(
    modules: Sequence[str],
    patterns: Sequence[str] = ("**/tasks.py",),
    fs_discover: bool = False,
    app_dir: str | None = None,
) -> list[str]:
    """Import task modules by name, plus files matching ``patterns`` when ``fs_discover``.

    Discovery searches ``app_dir`` (default: the current directory) and
    skips hidden directories, virtual environments and caches. Returns the
    names of the modules imported, in order.
    """
    base = Path(add_app_dir(app_dir))
    names = list(modules)
    if fs_discover:
        names.extend(name for name in discover_modules(base, patterns) if name not in names)
    for name in names:
        _import_module(name, name)
    return names


def discover_modules(base: Path, patterns: Iterable[str]) -> Iterator[str]:
    """Module names of the ``.py`` files under ``base`` matching any glob pattern."""
    seen: set[Path] = set()
    for pattern in patterns:
        for path in sorted(base.glob(pattern)):
            relative = path.relative_to(base)
            if path in seen or path.suffix != ".py" or _is_skipped(relative):
                continue
            seen.add(path)
            yield _module_name(relative)


def _is_skipped(relative: Path) -> bool:
    return any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts[:-1])


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise CLIImportError(spec=spec, reason=f"{exc}. Is --app-dir right?") from exc
