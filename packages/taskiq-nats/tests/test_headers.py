"""Labels and headers the brokers act on: bad values are logged and ignored, never fatal."""

from __future__ import annotations

import time

import pytest
from taskiq.message import BrokerMessage
from taskiq_nats import headers
from taskiq_nats.connection import mask_servers, server_list
from taskiq_nats.delivery import RedeliveryPolicy


def message(**labels: object) -> BrokerMessage:
    return BrokerMessage(task_id="id1", task_name="m:t", message=b"{}", labels=dict(labels))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 0.0), ("", 0.0), (5, 5.0), ("2.5", 2.5), (-3, 0.0), ("soon", 0.0), ("inf", 0.0)],
)
def test_delay_label_is_parsed_defensively(raw: object, expected: float) -> None:
    assert headers.parse_delay({"delay": raw}) == expected


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
