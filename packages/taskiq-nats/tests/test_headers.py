"""Labels and headers the brokers act on: absurd ones refused when sent, harmless when received."""

from __future__ import annotations

import time

import pytest
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage
from taskiq.time_labels import MAX_DELAY
from taskiq_nats import headers
from taskiq_nats.connection import mask_servers, server_list
from taskiq_nats.delivery import RedeliveryPolicy


def message(**labels: object) -> BrokerMessage:
    return BrokerMessage(task_id="id1", task_name="m:t", message=b"{}", labels=dict(labels))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 0.0), ("", 0.0), (0, 0.0), (5, 5.0), ("2.5", 2.5), (MAX_DELAY, MAX_DELAY)],
)
def test_delay_label_is_read_as_seconds(raw: object, expected: float) -> None:
    assert headers.parse_delay({"delay": raw}) == expected


@pytest.mark.parametrize("raw", [-3, "soon", "inf", "nan", 1e300, True, MAX_DELAY + 1])
def test_an_absurd_delay_label_is_refused_before_sending(raw: object) -> None:
    with pytest.raises(SendTaskError, match="'delay'"):
        headers.task_headers(message(delay=raw))


def test_a_due_time_beyond_the_longest_delay_is_a_problem_and_is_capped() -> None:
    absurd = {headers.NOT_BEFORE: "1e300"}
    assert headers.seconds_until_due(absurd) == MAX_DELAY
    problem = headers.not_before_problem(absurd)
    assert problem is not None
    assert problem.startswith("malformed: Taskiq-Not-Before")
    assert headers.not_before_problem({headers.NOT_BEFORE: "inf"}) is not None
    assert headers.not_before_problem({headers.NOT_BEFORE: str(time.time() + 60)}) is None
    assert headers.not_before_problem({headers.NOT_BEFORE: "tomorrow"}) is None
    assert headers.not_before_problem(None) is None


def test_delayed_message_carries_its_due_time() -> None:
    sent = headers.task_headers(message(delay="10"))
    assert sent[headers.TASK_ID] == "id1"
    assert sent[headers.TASK_NAME] == "m:t"
    assert 9 < headers.seconds_until_due(sent) <= 10.001
    assert headers.NOT_BEFORE not in headers.task_headers(message())


def test_unreadable_or_past_due_time_means_run_now(caplog: pytest.LogCaptureFixture) -> None:
    assert headers.seconds_until_due({headers.NOT_BEFORE: "tomorrow"}) == 0.0
    assert "unreadable" in caplog.text
    assert headers.seconds_until_due({headers.NOT_BEFORE: str(time.time() - 5)}) == 0.0
    assert headers.seconds_until_due({headers.NOT_BEFORE: "nan"}) == 0.0
    assert headers.seconds_until_due(None) == 0.0


def test_nak_backoff_doubles_up_to_the_cap() -> None:
    policy = RedeliveryPolicy(nak_backoff=1.0, max_nak_backoff=5.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 100)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert RedeliveryPolicy(ack_wait=30).heartbeat_interval == 10


def test_server_urls_are_listed_and_masked() -> None:
    assert server_list("nats://a:4222, nats://b:4222") == ["nats://a:4222", "nats://b:4222"]
    masked = mask_servers(["nats://u:pw@h:4222", "nats://h2:4222"])
    assert masked == "nats://***@h:4222, nats://h2:4222"
