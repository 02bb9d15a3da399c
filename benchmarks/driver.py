"""Run every scenario for every system, interleaved, and report medians and ratios.

Each (system, scenario) run is a subprocess of the system's own interpreter printing one
JSON line; within a repetition every system runs a scenario before the next scenario
starts (A B C D, A B C D, ...), so slow drifts of a shared machine hit all of them alike.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cleanup import cleanup_run
from environments import ensure_venvs, venv_python
from report import write_reports

HERE = Path(__file__).resolve().parent
SYSTEMS_DIR = HERE / "systems"
MAIN_PYTHON = HERE.parent / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class System:
    """A system under test: how to run its scenario script, and which scenarios it has."""

    name: str
    python: Path
    script: str
    scenarios: frozenset[str]
    #: Queued-task scenarios run 1/divisor of the tasks (rates are per second, so they
    #: still compare); arq's default worker polls and runs 10 jobs at a time, and its
    #: result() polls every 0.5 s: the full size would take minutes per repetition.
    divisor: int = 1


@dataclass(frozen=True)
class Scenario:
    """One measured thing: script scenario, broker, sizes, and metrics it reports."""

    key: str
    script_scenario: str
    broker: str
    size: int
    smoke_size: int
    metrics: tuple[str, ...]
    #: Extra environment of the scenario's script and its worker (a feature switched off).
    env: tuple[tuple[str, str], ...] = ()


SCENARIOS = (
    Scenario("inproc_seq", "inproc_seq", "redis", 20_000, 200, ("rate",)),
    Scenario("inproc_bulk", "inproc_bulk", "redis", 20_000, 200, ("rate",)),
    Scenario("redis_enqueue_seq", "enqueue_seq", "redis", 10_000, 100, ("rate",)),
    Scenario("redis_enqueue_conc", "enqueue_conc", "redis", 10_000, 100, ("rate",)),
    Scenario("redis_drain", "drain", "redis", 20_000, 100, ("rate", "rss_after")),
    Scenario(
        "redis_drain_states_off",
        "drain",
        "redis",
        20_000,
        100,
        ("rate",),
        env=(("BENCH_TASK_STATES", "off"),),
    ),
    Scenario(
        "redis_drain_events_off",
        "drain",
        "redis",
        20_000,
        100,
        ("rate",),
        env=(("BENCH_EVENTS", "off"),),
    ),
    Scenario(
        "redis_drain_events_watched",
        "drain",
        "redis",
        20_000,
        100,
        ("rate",),
        env=(("BENCH_EVENTS", "watched"),),
    ),
    Scenario(
        "redis_drain_heartbeat_off",
        "drain",
        "redis",
        20_000,
        100,
        ("rate",),
        env=(("BENCH_HEARTBEAT", "0"),),
    ),
    Scenario(
        "redis_drain_heartbeat_fast",
        "drain",
        "redis",
        20_000,
        100,
        ("rate",),
        env=(("BENCH_HEARTBEAT", "0.1"),),
    ),
    Scenario("redis_latency", "latency", "redis", 100, 10, ("p50_ms", "p99_ms", "rss_idle")),
    Scenario("amqp_drain", "drain", "amqp", 10_000, 100, ("rate",)),
    Scenario("nats_drain", "drain", "nats", 10_000, 100, ("rate",)),
    Scenario("kafka_drain", "drain", "kafka", 10_000, 100, ("rate",)),
    Scenario("redis_iobound", "iobound", "redis", 2_000, 50, ("rate",)),
    Scenario("sqlite_drain", "drain", "sqlite", 10_000, 100, ("rate", "rss_after")),
    Scenario("sqlite_latency", "latency", "sqlite", 100, 10, ("p50_ms", "p99_ms", "rss_idle")),
)

TASKIQ_SCENARIOS = frozenset(s.key for s in SCENARIOS)
#: Brokers upstream Taskiq does not have (taskiq_sqlite): this project only.
THIS_ONLY = frozenset({"sqlite_drain", "sqlite_latency"})
#: Celery and Dramatiq send synchronously: no "concurrent enqueue" for them.
REDIS_PEER = frozenset({"redis_enqueue_seq", "redis_drain", "redis_latency"})

ARQ_SCENARIOS = REDIS_PEER | {"redis_enqueue_conc", "redis_iobound"}
SCALED = frozenset(
    {
        "redis_drain",
        "redis_drain_states_off",
        "redis_drain_events_off",
        "redis_drain_events_watched",
        "redis_drain_heartbeat_off",
        "redis_drain_heartbeat_fast",
        "redis_iobound",
        "redis_latency",
    }
)


def all_systems(smoke: bool = False) -> list[System]:
    """This project first, upstream Taskiq (the ratio baseline) second, then the peers.

    The smoke run uses the project's own .venv (CI has it); a measuring run uses
    benchmarks/.venvs/this, a clean editable install (see environments.REQUIREMENTS).
    """
    this_python = MAIN_PYTHON if smoke else venv_python("this")
    return [
        System("this", this_python, "bench_taskiq.py", TASKIQ_SCENARIOS),
        System("taskiq", venv_python("taskiq"), "bench_taskiq.py", TASKIQ_SCENARIOS - THIS_ONLY),
        System("celery", venv_python("celery"), "bench_celery.py", REDIS_PEER),
        System("dramatiq", venv_python("dramatiq"), "bench_dramatiq.py", REDIS_PEER),
        System("arq", venv_python("arq"), "bench_arq.py", ARQ_SCENARIOS, divisor=5),
    ]


@dataclass
class Results:
    """Every sample: results[scenario][system][metric] -> list of values; errors likewise."""

    samples: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, scenario: str, system: str, values: dict[str, float]) -> None:
        per_system = self.samples.setdefault(scenario, {}).setdefault(system, {})
        for metric, value in values.items():
            per_system.setdefault(metric, []).append(float(value))

    def medians(self) -> dict[str, dict[str, dict[str, float]]]:
        return {
            sc: {sy: {m: statistics.median(v) for m, v in ms.items()} for sy, ms in by.items()}
            for sc, by in self.samples.items()
        }


def run_one(system: System, scenario: Scenario, size: int, run_id: str) -> dict[str, Any]:
    """One subprocess; returns its JSON, or raises with the tail of its stderr."""
    env = {
        **os.environ,
        "BENCH_RUN": run_id,
        "BENCH_QUEUE": f"{run_id}-q",
        "BENCH_BROKER": scenario.broker,
        "PYTHONPATH": str(SYSTEMS_DIR),
        **dict(scenario.env),
    }
    cmd = [str(system.python), system.script, scenario.script_scenario, str(size)]
    done = subprocess.run(
        cmd, cwd=SYSTEMS_DIR, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {done.returncode}: {tail}")
    return dict(json.loads(lines[-1]))


def run_all(systems: list[System], scenarios: list[Scenario], reps: int, smoke: bool) -> Results:
    """Interleave: for each repetition, each scenario, each system."""
    results = Results()
    batch = uuid.uuid4().hex[:8]
    for rep in range(reps):
        for scenario in scenarios:
            size = scenario.smoke_size if smoke else scenario.size
            for system in systems:
                if scenario.key in system.scenarios:
                    n = size // system.divisor if scenario.key in SCALED else size
                    run_id = f"bench-{batch}-{rep}-{system.name}-{scenario.key}".replace("_", "-")
                    _run_logged(results, system, scenario, max(n, 2), run_id)
    return results


def _run_logged(
    results: Results, system: System, scenario: Scenario, size: int, run_id: str
) -> None:
    start = time.monotonic()
    try:
        values = run_one(system, scenario, size, run_id)
        results.add(scenario.key, system.name, values)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        results.errors.setdefault(scenario.key, {})[system.name] = str(exc)[:300]
        shown = f"ERROR {exc}"
    finally:
        cleanup_run(run_id, scenario.broker)
    took = time.monotonic() - start
    print(f"  {scenario.key:<20} {system.name:<9} {took:6.1f}s  {shown}", file=sys.stderr)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, this project only")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median over them)")
    parser.add_argument("--systems", default="", help="comma list (this,taskiq,celery,...)")
    parser.add_argument("--scenarios", default="", help="comma list of scenario keys")
    parser.add_argument("--out", default=str(HERE / "results"), help="where latest.* go")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    return parser.parse_args(argv)


def _select(items: list[Any], wanted: str) -> list[Any]:
    names = {w for w in wanted.split(",") if w}
    chosen = [i for i in items if not names or getattr(i, "name", getattr(i, "key", "")) in names]
    if not chosen:
        raise SystemExit(f"nothing selected by {wanted!r}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    systems = _select(all_systems(args.smoke), args.systems or ("this" if args.smoke else ""))
    scenarios = _select(list(SCENARIOS), args.scenarios)
    reps = 1 if args.smoke else args.reps
    if not args.smoke:
        ensure_venvs([s.name for s in systems], chart=not args.no_chart)
    results = run_all(systems, scenarios, reps, args.smoke)
    table = write_reports(
        results,
        systems,
        scenarios,
        Path(args.out),
        reps,
        smoke=args.smoke,
        chart=not (args.smoke or args.no_chart),
    )
    print(table)
    return 1 if results.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
