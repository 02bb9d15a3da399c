"""Scenarios that reproduced the failures of issue 21 (items 1, 2, 4, 5 and 7) before their fixes.

Each must pass now; one failing again means the fix regressed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from taskiq_chaos.batch import Outcome, judge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _known(broker: str, scenario: str, item: int) -> object:
    return pytest.param(
        broker,
        scenario,
        marks=[pytest.mark.chaos_case(broker, scenario)],
        id=f"{broker}-{scenario}-item{item}",
    )


CASES = [
    _known("nats", "absurd-labels", 1),
    _known("redis", "huge-entry", 2),
    _known("redis", "stream-deleted", 4),
    _known("redis", "blocked-loop", 5),
    _known("nats", "blocked-loop", 5),
    *(_known(broker, "idle-then-stop", 7) for broker in ("redis", "rabbitmq", "nats")),
]


@pytest.mark.parametrize(("broker", "scenario"), CASES)
def test_fixed_failure_stays_fixed(
    broker: str, scenario: str, chaos_case: Callable[[], Outcome]
) -> None:
    judge(chaos_case())
