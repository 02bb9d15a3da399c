"""Runs many (broker, scenario) cases at once: two lanes per broker, all in parallel.

The CI short form must fit in a few minutes on two cores, and most of a
scenario's time is waiting (a worker starting, a redelivery timeout, a
partition), so the brokers' lanes overlap. A case that breaks the harness
itself is kept as its exception, for its own test to raise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from taskiq_chaos.report import Report
from taskiq_chaos.scenarios import KNOWN_FAILURES, SCENARIOS
from taskiq_chaos.session import Options, run_scenario
from taskiq_chaos.targets import TARGETS

Case = tuple[str, str]
#: Sequences per broker: each broker's scenarios are dealt over this many lanes.
LANES = 2
Outcome = Report | BaseException


async def _sequence(
    kind: str, names: list[str], root: Path, options: Options
) -> dict[Case, Outcome]:
    outcomes: dict[Case, Outcome] = {}
    for name in names:
        scenario = SCENARIOS.get(name) or KNOWN_FAILURES[name]
        directory = root / kind / name
        try:
            outcomes[kind, name] = await run_scenario(
                TARGETS[kind](directory), scenario, name, directory, options
            )
        except Exception as exc:
            outcomes[kind, name] = exc
    return outcomes


async def run_cases(
    cases: Iterable[Case], root: Path, options: Options | None = None
) -> dict[Case, Outcome]:
    """Run ``cases`` (brokers in parallel, each broker's scenarios in turn)."""
    by_kind: dict[str, list[str]] = {}
    for kind, name in cases:
        by_kind.setdefault(kind, []).append(name)
    lanes = [(kind, names[lane::LANES]) for kind, names in by_kind.items() for lane in range(LANES)]
    results = await asyncio.gather(
        *(_sequence(kind, names, root, options or Options()) for kind, names in lanes if names)
    )
    merged: dict[Case, Outcome] = {}
    for outcome in results:
        merged.update(outcome)
    return merged


def judge(outcome: Outcome) -> None:
    """Fail with the whole report (figures, faults, log excerpt) if anything is wrong."""
    if isinstance(outcome, BaseException):
        raise outcome
    assert outcome.passed, outcome.explain()
    assert outcome.sent > 0
