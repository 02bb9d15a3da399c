"""Fixtures for taskiq_sqlite tests: a fresh file per test, worker processes.

No service is needed: every test has its own file in its own temporary folder.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
# Test helper modules (sqlite_test_helpers, worker_app) are imported by name.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from sqlite_test_helpers import Workers  # noqa: E402


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    """The SQLite file of this test."""
    return str(tmp_path / "tasks.db")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Start worker processes in the test's folder; all are stopped afterwards."""
    started = Workers(tmp_path)
    yield started
    started.stop_all()
