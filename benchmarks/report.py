"""Markdown table (stdout and results/latest.md), raw JSON, and the PNG chart."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from environments import venv_python, version_of

HERE = Path(__file__).resolve().parent
BASELINE = "taskiq"

#: metric -> (label, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "rate": ("tasks/s", True),
    "rss_after": ("worker RSS after drain, MB", False),
    "p50_ms": ("p50 latency, ms", False),
    "p99_ms": ("p99 latency, ms", False),
    "rss_idle": ("idle worker RSS, MB", False),
}

TITLES = {
    "inproc_seq": "in-process round trip, sequential",
    "inproc_bulk": "in-process round trip, bulk",
    "redis_enqueue_seq": "Redis enqueue, sequential",
    "redis_enqueue_conc": "Redis enqueue, 200 concurrent",
    "redis_drain": "Redis drain, 1 worker process",
    "redis_drain_states_off": "Redis drain, task states off",
    "redis_drain_events_off": "Redis drain, events off",
    "redis_drain_events_watched": "Redis drain, events watched by a subscriber",
    "redis_drain_heartbeat_off": "Redis drain, heartbeat off",
    "redis_drain_heartbeat_fast": "Redis drain, heartbeat every 0.1 s",
    "redis_latency": "Redis kiq→wait_result()",
    "amqp_drain": "RabbitMQ drain, 1 worker process",
    "nats_drain": "NATS JetStream drain, 1 worker process",
    "kafka_drain": "Kafka drain, 1 worker process",
    "redis_iobound": "Redis I/O-bound (sleep 0.1 s), 1 worker",
    "sqlite_drain": "SQLite drain, 1 worker process",
    "sqlite_latency": "SQLite kiq→wait_result()",
}


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.2g}"


def _cell(medians: dict[str, dict[str, float]], system: str, metric: str) -> str:
    value = medians.get(system, {}).get(metric)
    if value is None:
        return ""
    base = medians.get(BASELINE, {}).get(metric)
    if system == BASELINE or not base:
        return _fmt(value)
    ratio = value / base
    return f"{_fmt(value)} (×{ratio:.2f})" if ratio >= 0.1 else f"{_fmt(value)} (×{ratio:.1g})"


def _rows(results: Any, systems: list[Any], scenarios: list[Any]) -> list[str]:
    medians = results.medians()
    rows = []
    for scenario in scenarios:
        errors = results.errors.get(scenario.key, {})
        for metric in scenario.metrics:
            label, higher = METRICS[metric]
            arrow = "↑" if higher else "↓"
            cells = []
            for system in systems:
                cell = _cell(medians.get(scenario.key, {}), system.name, metric)
                if not cell and system.name in errors:
                    cell = "error"
                elif not cell and scenario.key not in system.scenarios:
                    cell = "n/a"
                cells.append(cell)
            name = f"{TITLES[scenario.key]}: {label} {arrow}"
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def render(results: Any, systems: list[Any], scenarios: list[Any], reps: int, smoke: bool) -> str:
    """The markdown report: header notes, the table, the errors."""
    versions = ", ".join(f"{s.name} {version_of(s.python, s.name)}" for s in systems)
    head = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"{' (SMOKE: tiny sizes, not a measurement)' if smoke else ''}; "
        f"median of {reps} interleaved repetition(s); Python {platform.python_version()}; "
        f"{versions}.",
        "Cells: median (× ratio to upstream Taskiq in the same run); ↑ higher is better, "
        "↓ lower is better.",
        "",
        "| scenario | " + " | ".join(s.name for s in systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    errors = [
        f"- {scenario} / {system}: {message}"
        for scenario, by_system in results.errors.items()
        for system, message in by_system.items()
    ]
    tail = ["", "Errors:", *errors] if errors else []
    return "\n".join([*head, *_rows(results, systems, scenarios), *tail]) + "\n"


def write_reports(
    results: Any,
    systems: list[Any],
    scenarios: list[Any],
    out: Path,
    reps: int,
    smoke: bool,
    chart: bool,
) -> str:
    """Write latest.md / latest.json (and latest.png); return the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    table = render(results, systems, scenarios, reps, smoke)
    stem = "smoke" if smoke else "latest"
    (out / f"{stem}.md").write_text(table)
    raw = {
        "samples": results.samples,
        "errors": results.errors,
        "medians": results.medians(),
        "systems": [s.name for s in systems],
        "titles": TITLES,
    }
    (out / f"{stem}.json").write_text(json.dumps(raw, indent=1))
    if chart:
        subprocess.run(
            [
                str(venv_python("tools")),
                str(HERE / "chart.py"),
                str(out / "latest.json"),
                str(out / "latest.png"),
            ],
            check=False,
        )
    return table
