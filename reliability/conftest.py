"""Fixtures of the chaos suite: the selected scenarios run once, together, per session.

`chaos_outcomes` looks at which scenario tests this pytest run selected and
runs exactly those (see `taskiq_chaos.batch`), so ``-k redis`` runs only the
Redis ones; each test then judges its own report.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
from collections.abc import Callable

import pytest
from taskiq_chaos.batch import Case, Outcome, run_cases
from taskiq_chaos.config import BrokerKind
from taskiq_chaos.servers import tansu_binary

SERVICES: dict[BrokerKind, tuple[str, int]] = {"rabbitmq": ("rabbitmq", 5672)}
BINARIES: dict[BrokerKind, str] = {
    "redis": "redis-server",
    "nats": "nats-server",
    "kafka": tansu_binary(),
}


def selected_cases(items: list[pytest.Item]) -> list[Case]:
    """The (broker, scenario) pairs of the selected tests marked ``chaos_case``."""
    cases: list[Case] = []
    for item in items:
        marker = item.get_closest_marker("chaos_case")
        if marker is not None and tuple(marker.args) not in cases:
            cases.append((str(marker.args[0]), str(marker.args[1])))
    return cases


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos_case(broker, scenario): a chaos scenario test")


@pytest.fixture(scope="session")
def chaos_outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[Case, Outcome]:
    """Reports of every selected scenario, run concurrently (brokers in parallel)."""
    cases = selected_cases(request.session.items)
    root = tmp_path_factory.mktemp("chaos")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs here
        return pool.submit(asyncio.run, run_cases(cases, root)).result()


@pytest.fixture
def chaos_case(
    request: pytest.FixtureRequest,
    require_service: Callable[[str, str, int], None],
) -> Callable[[], Outcome]:
    """The outcome of this test's scenario, once its services are known to be there."""
    marker = request.node.get_closest_marker("chaos_case")
    assert marker is not None, "mark the test with chaos_case(broker, scenario)"
    kind, name = marker.args
    require_service("redis", "127.0.0.1", 6379)  # task runs are recorded there
    if kind in SERVICES:
        require_service(SERVICES[kind][0], "127.0.0.1", SERVICES[kind][1])
    if kind in BINARIES and shutil.which(BINARIES[kind]) is None:
        pytest.skip(
            f"{BINARIES[kind]} is not installed (scripts/services installs tansu); "
            f"the {kind} scenarios start a server of their own"
        )

    def outcome() -> Outcome:
        outcomes: dict[Case, Outcome] = request.getfixturevalue("chaos_outcomes")
        return outcomes[kind, name]

    return outcome
