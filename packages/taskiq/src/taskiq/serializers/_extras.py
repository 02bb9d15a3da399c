"""Imports the optional library behind a serializer, with advice when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, serializer: str) -> ModuleType:
    """Import ``module`` or raise ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{serializer} needs the {module!r} package, which is not installed. "
            f'Install it with: pip install "taskiq[{extra}]"',
            name=module,
        ) from exc
