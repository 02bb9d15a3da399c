"""Run a documentation fragment (top-level ``await`` allowed) as a test would.

Docs show operator code as fragments that use a ``broker`` the reader already
has; a test gives them one and runs them exactly as written.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
from pathlib import Path
from typing import Any

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path, marker: str) -> list[str]:
    """The ```python blocks of ``path`` that contain ``marker``."""
    return [block for block in _BLOCK.findall(path.read_text()) if marker in block]


async def run_fragment(code: str, filename: str = "<docs>", **names: Any) -> str:
    """Run ``code`` with ``names`` in scope; return what it printed."""
    compiled = compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        outcome = eval(compiled, dict(names))  # the docs' own code, run by a test
        if inspect.isawaitable(outcome):
            await outcome
    return output.getvalue()
