"""Malformed messages, pushed raw into a broker past every client-side check.

`GENERIC` are payloads any broker carries; `BROKER_SHAPES` are ways to break
one broker's own envelope (a stream entry's fields, NATS headers, AMQP
properties). Each item is ``(name, payload, extra)`` for `Target.push_raw`.
`ABSURD` holds the inputs of issue 21 item 1 and 2, kept apart so that their
scenarios can be marked as known failures until the fixes land.

A worker must reject or dead-letter every one of them, keep running the good
tasks around them, and never lose a child.
"""

from __future__ import annotations

import json
from typing import Any

from taskiq_chaos.brokers import RECORD_TASK

#: Seqs of malformed-but-runnable messages: recorded if run, never counted as sent.
SPARE_SEQ = 10_000_000

Item = tuple[str, bytes, dict[str, Any]]


def _message(task_name: str = RECORD_TASK, **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "task_id": fields.pop("task_id", "chaos-malformed"),
        "task_name": task_name,
        "labels": {},
        "args": [],
        "kwargs": {},
    }
    body.update(fields)
    return json.dumps(body).encode()


GENERIC: list[Item] = [
    ("empty", b"", {}),
    ("binary", bytes(range(256)), {}),
    ("text", b"not a task at all", {}),
    ("json-null", b"null", {}),
    ("json-list", b"[1, 2, 3]", {}),
    ("json-empty-object", b"{}", {}),
    ("wrong-types", _message(task_id=5, labels="no", args={}, kwargs=[]), {}),
    ("unknown-task", _message("chaos.no_such_task"), {}),
    ("bad-arguments", _message(args=["not-an-int"]), {}),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, {}),
    ("huge-number", _message(args=[]).replace(b'"args": []', b'"args": [1e999999]'), {}),
    ("invalid-utf8", _message().replace(b"chaos-malformed", b"\xff\xfe\xfd"), {}),
    ("big", _message("chaos.no_such_task", labels={"pad": "x" * 600_000}), {}),
    (
        "odd-labels",
        _message(
            args=[SPARE_SEQ],
            labels={"delay": "soon", "timeout": "-5", "priority": "high", "max_retries": -1},
        ),
        {},
    ),
    ("truncated", _message(args=[SPARE_SEQ + 1])[:-7], {}),
]

BROKER_SHAPES: dict[str, list[Item]] = {
    "redis": [
        ("no-data-field", b"", {"fields": {b"other": b"x"}}),
        ("binary-field-names", b"", {"fields": {b"\xff\x00": b"\x00", b"data": b"\xff"}}),
        (
            "many-fields",
            b"",
            {
                "fields": {
                    b"data": _message(args=[SPARE_SEQ + 2]),
                    **{f"f{i}".encode(): b"v" for i in range(50)},
                }
            },
        ),
    ],
    "nats": [
        (
            "not-before-text",
            _message(args=[SPARE_SEQ + 3]),
            {"headers": {"Taskiq-Not-Before": "soon"}},
        ),
        (
            "not-before-nan",
            _message(args=[SPARE_SEQ + 4]),
            {"headers": {"Taskiq-Not-Before": "nan"}},
        ),
        (
            "not-before-past",
            _message(args=[SPARE_SEQ + 5]),
            {"headers": {"Taskiq-Not-Before": "-1e9"}},
        ),
        (
            "odd-headers",
            _message(args=[SPARE_SEQ + 6]),
            {"headers": {"Taskiq-Task-Id": "", "X": "y" * 4000}},
        ),
    ],
    "rabbitmq": [
        (
            "odd-properties",
            _message(args=[SPARE_SEQ + 7]),
            {"properties": {"content_type": "application/x-nonsense", "type": "", "priority": 9}},
        ),
        (
            "odd-headers",
            _message(args=[SPARE_SEQ + 8]),
            {"properties": {"headers": {"x-death": "not-a-list", "nested": {"a": [1, 2]}}}},
        ),
        ("no-properties", b"\x00\x01", {"properties": {"message_id": None, "correlation_id": "?"}}),
    ],
    "kafka": [
        (
            "odd-headers",
            _message(args=[SPARE_SEQ + 9]),
            {"headers": [("taskiq-attempt", b"not-a-number"), ("\u00ff", b"\xff\x00")]},
        ),
        ("empty-value", b"", {}),
    ],
}

#: Issue 21 item 1: absurd delay/timeout labels (and, on NATS, the header they become).
ABSURD_LABELS: dict[str, list[Item]] = {
    kind: [
        ("delay-1e300", _message(args=[SPARE_SEQ + 20], labels={"delay": 1e300}), {}),
        ("timeout-1e300", _message(args=[SPARE_SEQ + 21], labels={"timeout": 1e300}), {}),
    ]
    for kind in ("redis", "nats", "rabbitmq", "kafka")
}
ABSURD_LABELS["nats"].append(
    (
        "not-before-1e300",
        _message(args=[SPARE_SEQ + 22]),
        {"headers": {"Taskiq-Not-Before": "1e300"}},
    )
)

#: Issue 21 item 2: a stream entry with 5,000 fields and garbage data.
HUGE_ENTRY: Item = (
    "5000-fields",
    b"",
    {"fields": {b"data": b"\xff garbage", **{f"f{i}".encode(): b"v" for i in range(5000)}}},
)


def corpus_for(kind: str) -> list[Item]:
    """What the malformed-message scenario pushes into ``kind``."""
    return [*GENERIC, *BROKER_SHAPES.get(kind, [])]
