"""Scenarios that reproduce issue 21 items fixed on other branches; expected to fail until then.

Remove a mark once its fix is merged: the scenario must then pass like the others.
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
        marks=[
            pytest.mark.chaos_case(broker, scenario),
            pytest.mark.xfail(
                strict=False, reason=f"issue 21 item {item}, fixed on another branch"
            ),
        ],
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
def test_known_failure(broker: str, scenario: str, chaos_case: Callable[[], Outcome]) -> None:
    judge(chaos_case())
