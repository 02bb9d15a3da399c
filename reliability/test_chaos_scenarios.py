"""The chaos scenarios on every acknowledged broker (CI's short form: 200 tasks each).

Each test judges one scenario's report: no task lost, no duplicate that no
fault explains, none beyond what was in flight, no child crash that input or
an outage caused. The scenarios themselves run together, once per session
(see conftest.py); reliability/README.md says what each one does.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from taskiq_chaos.batch import Outcome, judge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BROKERS = ("redis", "rabbitmq", "nats", "kafka")
SCENARIOS = (
    "sigkill-child",
    "sigkill-group",
    "server-restart",
    "partition",
    "malformed",
    "forged-results",
    "restart-in-partition",
)
#: Issue 21 item 1 (absurd labels) on the brokers whose regression test is elsewhere:
#: NATS runs it in test_chaos_regressions.py.
EXTRA = (("redis", "absurd-labels"), ("rabbitmq", "absurd-labels"), ("kafka", "absurd-labels"))


def _cases() -> list[object]:
    cases: list[object] = []
    for broker in BROKERS:
        for scenario in SCENARIOS:
            marks = [pytest.mark.chaos_case(broker, scenario)]
            cases.append(pytest.param(broker, scenario, marks=marks, id=f"{broker}-{scenario}"))
    for broker, scenario in EXTRA:
        marks = [pytest.mark.chaos_case(broker, scenario)]
        cases.append(pytest.param(broker, scenario, marks=marks, id=f"{broker}-{scenario}"))
    return cases


@pytest.mark.parametrize(("broker", "scenario"), _cases())
def test_scenario(broker: str, scenario: str, chaos_case: Callable[[], Outcome]) -> None:
    judge(chaos_case())
