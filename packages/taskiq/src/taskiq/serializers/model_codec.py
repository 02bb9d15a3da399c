"""Pydantic models (messages, results, progress) to bytes and back, with any serializer.

With the default `JSONSerializer` the model goes to JSON and back in pydantic's
own compiled code in one step, instead of a model dump, then ``json``, then a
model validation: about four times faster, and on every task this is paid for
the message and again for its result (see benchmarks/README.md). The bytes are
the same JSON either way, except that non-ASCII text is written as UTF-8
instead of ``\\u`` escapes, which every JSON reader accepts. Other serializers
get the model as JSON-compatible values, or as Python objects when they
declare `TaskiqSerializer.accepts_python_objects`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.serializers.json_serializer import JSONSerializer

_Model = TypeVar("_Model", bound=BaseModel)


def dump_model(serializer: TaskiqSerializer, model: BaseModel) -> bytes:
    """Encode ``model``; raise ``ValueError``/``TypeError`` for a value it cannot carry."""
    if type(serializer) is JSONSerializer:
        encoded: bytes = model.__pydantic_serializer__.to_json(model)
        return encoded
    mode = "python" if serializer.accepts_python_objects else "json"
    return serializer.dumpb(model.model_dump(mode=mode))


def load_model(serializer: TaskiqSerializer, model_type: type[_Model], raw: Any) -> _Model:
    """Decode and validate bytes made by `dump_model`; raise ``ValueError`` on garbage."""
    if type(serializer) is JSONSerializer:
        return model_type.model_validate_json(raw)
    return model_type.model_validate(serializer.loadb(raw))


def encode_stored(serializer: TaskiqSerializer, task_id: str, model: BaseModel) -> bytes:
    """`dump_model` for a result backend: a value it cannot carry is a `ResultSetError`."""
    from taskiq.exceptions import ResultSetError

    try:
        return dump_model(serializer, model)
    except (ValueError, TypeError) as exc:
        raise ResultSetError(
            task_id=task_id,
            reason=(
                f"{type(serializer).__name__} cannot encode it ({exc!s:.200}); return "
                "JSON-compatible values or pass another serializer to the result backend"
            ),
        ) from exc


def decode_stored(
    serializer: TaskiqSerializer, task_id: str, raw: Any, model_type: type[_Model]
) -> _Model:
    """`load_model` for a result backend: stored garbage is a `ResultGetError`."""
    from taskiq.exceptions import ResultGetError, TaskiqError

    try:
        return load_model(serializer, model_type, raw)
    except TaskiqError:
        raise
    except Exception as exc:
        raise ResultGetError(
            task_id=task_id,
            reason=f"the stored value is not a valid {model_type.__name__} ({exc!s:.200})",
        ) from exc
