"""CI keeps the benchmark suite from rotting: the smoke run must measure every scenario.

Nothing about speed is asserted; the test proves the harness, the scenario scripts and the
worker commands still run end to end against the real services.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SERVICES = (("redis", 6379), ("rabbitmq", 5672), ("nats", 4222), ("kafka", 9092))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_smoke_run_reports_every_scenario(
    tmp_path: Path, require_service: Callable[[str, str, int], None]
) -> None:
    for name, port in SERVICES:
        require_service(name, "127.0.0.1", port)
    done = subprocess.run(
        [sys.executable, str(HERE / "driver.py"), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    raw = json.loads((tmp_path / "smoke.json").read_text())
    assert raw["errors"] == {}
    table = (tmp_path / "smoke.md").read_text()
    for scenario, title in raw["titles"].items():
        rows = [line for line in table.splitlines() if line.startswith(f"| {title}:")]
        assert rows, f"no row for {scenario}"
        for row in rows:
            cell = row.split("|")[2].strip()
            assert cell.replace(",", "").replace(".", "", 1).isdigit(), row
