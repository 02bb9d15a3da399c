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

ITEM_3 = "issue 21 item 3, fixed on another branch"
BROKERS = ("redis", "rabbitmq", "nats")
SCENARIOS = (
    "sigkill-child",
    "sigkill-group",
    "server-restart",
    "partition",
    "malformed",
    "forged-results",
    "restart-in-partition",
)
#: Issue 21 item 1 crashes only NATS workers; the other brokers already pass it.
EXTRA = (("redis", "absurd-labels"), ("rabbitmq", "absurd-labels"))
#: RabbitMQ children die when the connection drops with deliveries buffered (item 3).
#: Found by this suite, not in issue 21: a child started while the server is unreachable
#: exits with code 1 (BrokerConnectionError from broker.startup()) and the supervisor
#: restarts it every few seconds until the outage ends.
STARTUP_IN_OUTAGE = "a child started during an outage exits 1; found by the chaos suite"
KNOWN = {
    ("rabbitmq", "server-restart"): ITEM_3,
    ("rabbitmq", "partition"): ITEM_3,
    ("rabbitmq", "restart-in-partition"): STARTUP_IN_OUTAGE,
    ("nats", "restart-in-partition"): STARTUP_IN_OUTAGE,
    ("redis", "restart-in-partition"): STARTUP_IN_OUTAGE,
}


def _cases() -> list[object]:
    cases: list[object] = []
    for broker in BROKERS:
        for scenario in SCENARIOS:
            marks = [pytest.mark.chaos_case(broker, scenario)]
            if (broker, scenario) in KNOWN:
                marks.append(pytest.mark.xfail(strict=False, reason=KNOWN[broker, scenario]))
            cases.append(pytest.param(broker, scenario, marks=marks, id=f"{broker}-{scenario}"))
    for broker, scenario in EXTRA:
        marks = [pytest.mark.chaos_case(broker, scenario)]
        cases.append(pytest.param(broker, scenario, marks=marks, id=f"{broker}-{scenario}"))
    return cases


@pytest.mark.parametrize(("broker", "scenario"), _cases())
def test_scenario(broker: str, scenario: str, chaos_case: Callable[[], Outcome]) -> None:
    judge(chaos_case())
