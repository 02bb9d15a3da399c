"""Checking the file name a user gives, so a typo fails in one line at construction."""

from __future__ import annotations

import os


def checked_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a string, or a `ValueError` saying why it cannot be the shared file.

    An in-memory database is refused: it lives in one connection, so no worker
    process could see what a client sends.
    """
    text = os.fspath(path)
    if not text or text == ":memory:" or "mode=memory" in text:
        raise ValueError(
            f"SQLite path {text!r} cannot be shared between processes: give a file name "
            "such as 'tasks.db'."
        )
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise ValueError(f"SQLite path {text!r}: the folder {folder} does not exist.")
    return text
