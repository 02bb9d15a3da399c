"""Property-based fuzzing of the decoders that read what another process wrote.

Whatever bytes arrive, the message decoder (each formatter with each
serializer), the result decoder and the error decoder either return a value
of the documented type or raise one of the errors their contract names
(``ValueError`` for a malformed payload, our `TaskiqError` subclasses); never
``TypeError``, ``KeyError``, ``RecursionError`` or a library's own exception
that is no ``ValueError``. The same holds for the NATS header parsers.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taskiq import InMemoryBroker, TaskiqResult
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.error_codec import decode_exception
from taskiq.exceptions import SendTaskError, TaskiqError
from taskiq.formatters import JSONFormatter, ProxyFormatter
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.serializers import (
    CBORSerializer,
    JSONSerializer,
    MSGPackSerializer,
    ORJSONSerializer,
)
from taskiq.serializers.model_codec import load_model
from taskiq_nats import headers

#: Examples per property: few in CI (the machine is small), many with reliability/run --soak.
EXAMPLES = int(os.environ.get("TASKIQ_CHAOS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
message_fields = st.sampled_from(
    ["task_id", "task_name", "labels", "labels_types", "args", "kwargs"]
)
message_like = st.dictionaries(message_fields | st.text(max_size=8), json_values, max_size=7)
error_like = st.dictionaries(
    st.sampled_from(["type", "message", "args", "attrs", "traceback"]) | st.text(max_size=8),
    json_values
    | st.sampled_from(
        [
            "builtins:ValueError",
            "builtins:KeyError",
            "builtins:SystemExit",
            "os:system",
            "builtins:eval",
            "taskiq.exceptions:SecurityError",
            "taskiq.exceptions:ResultGetError",
            "taskiq.error_codec:_resolve",
            "json:JSONDecodeError",
            ":",
            "builtins:",
            "no.such.module:Thing",
        ]
    ),
    max_size=6,
)

SERIALIZERS: list[TaskiqSerializer] = [
    JSONSerializer(),
    ORJSONSerializer(),
    MSGPackSerializer(),
    CBORSerializer(),
]
ALLOWED = (ValueError, TaskiqError)


def _encodings(value: Any) -> list[bytes]:
    """``value`` as each serializer would have written it (where it can)."""
    found = []
    for serializer in SERIALIZERS:
        try:
            found.append(serializer.dumpb(value))
        except (TypeError, ValueError, OverflowError):
            continue
    return found


def _decode_message(serializer: TaskiqSerializer, raw: bytes) -> None:
    broker = InMemoryBroker().with_serializer(serializer)
    try:
        message = ProxyFormatter(broker).loads(raw)
    except ALLOWED:
        return
    assert isinstance(message, TaskiqMessage)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=lambda s: type(s).__name__)
@FUZZ
@given(raw=st.binary(max_size=300))
def test_message_decoder_takes_any_bytes(serializer: TaskiqSerializer, raw: bytes) -> None:
    _decode_message(serializer, raw)


@FUZZ
@given(body=message_like)
def test_message_decoder_takes_any_message_shaped_value(body: dict[str, Any]) -> None:
    for serializer, raw in zip(SERIALIZERS, _encodings(body), strict=False):
        _decode_message(serializer, raw)
    with contextlib.suppress(*ALLOWED):
        JSONFormatter().loads(json.dumps(body).encode())


@pytest.mark.parametrize("depth", [10, 1_000, 20_000])
def test_message_decoder_survives_deep_nesting(depth: int) -> None:
    for serializer in SERIALIZERS:
        _decode_message(serializer, b"[" * depth + b"]" * depth)


def _decode_result(serializer: TaskiqSerializer, raw: bytes) -> None:
    try:
        result = load_model(serializer, TaskiqResult[Any], raw)
    except ALLOWED:
        return
    assert isinstance(result, TaskiqResult)
    assert result.error is None or isinstance(result.error, BaseException)
    str(result)  # showing a decoded result runs no code of the payload's choosing


@FUZZ
@given(raw=st.binary(max_size=300))
def test_result_decoder_takes_any_bytes(raw: bytes) -> None:
    for serializer in SERIALIZERS:
        _decode_result(serializer, raw)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {"is_err": json_values, "return_value": json_values, "execution_time": json_values},
        optional={"labels": json_values, "log": json_values, "error": error_like | json_values},
    )
)
def test_result_decoder_takes_any_result_shaped_value(fields: dict[str, Any]) -> None:
    for serializer, raw in zip(SERIALIZERS, _encodings(fields), strict=False):
        _decode_result(serializer, raw)


@FUZZ
@given(payload=error_like | json_values)
def test_error_decoder_returns_an_exception_or_refuses(payload: Any) -> None:
    try:
        error = decode_exception(payload)
    except TaskiqError:
        return
    assert isinstance(error, Exception)
    str(error)
    repr(error)


@FUZZ
@given(
    values=st.dictionaries(
        st.text(max_size=20) | st.just(headers.NOT_BEFORE),
        st.text(max_size=30) | st.floats().map(repr) | st.integers().map(str),
        max_size=5,
    )
)
def test_nats_not_before_header_gives_a_finite_wait(values: dict[str, str]) -> None:
    wait = headers.seconds_until_due(values)
    assert isinstance(wait, float)
    assert math.isfinite(wait)
    assert wait >= 0


@FUZZ
@given(labels=st.dictionaries(st.sampled_from(["delay", "priority", "x"]), json_values, max_size=3))
def test_nats_task_headers_are_text_for_any_labels(labels: dict[str, Any]) -> None:
    message = BrokerMessage(task_id="t", task_name="n", message=b"{}", labels=labels)
    try:
        made = headers.task_headers(message)
    except SendTaskError as exc:  # a delay out of bounds is refused when sent, clearly
        refused = str(exc)
        assert "delay" in refused
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in made.items())
    delay = headers.parse_delay(labels)
    assert math.isfinite(delay)
    assert delay >= 0
