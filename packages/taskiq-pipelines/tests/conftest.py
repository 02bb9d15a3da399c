"""Fixtures for taskiq_pipelines tests: an in-memory broker with the middleware and tasks."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).parent
# Test helper modules (pipeline_tasks, pipeline_worker_app) are imported by name.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
