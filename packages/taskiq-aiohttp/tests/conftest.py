"""Test setup for taskiq_aiohttp.

This directory goes on sys.path so tests import the apps by ``module:variable``.
taskiq-dependencies warns once per task graph that it cannot read the type
hints of ``aiohttp.web.Request.__init__`` (aiohttp declares them under
TYPE_CHECKING); the request comes from the context, so the warning is noise.
The package silences it in workers; pytest's ``error`` filter would win over
that, hence the line here.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Cannot resolve type hints for a class Request:RuntimeWarning",
    )
