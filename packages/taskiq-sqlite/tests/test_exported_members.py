"""The public surface of taskiq_sqlite is exactly what ``__all__`` says."""

from __future__ import annotations

import taskiq_sqlite


def test_all_is_the_public_surface() -> None:
    assert taskiq_sqlite.__all__ == ["SQLiteBroker", "SQLiteResultBackend", "SQLiteScheduleSource"]
    for name in taskiq_sqlite.__all__:
        assert getattr(taskiq_sqlite, name).__module__.startswith("taskiq_sqlite.")
