"""The outcome of one task run, as stored by result backends."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from taskiq.error_codec import decode_exception, encode_exception

_ReturnType = TypeVar("_ReturnType")


class TaskiqResult(BaseModel, Generic[_ReturnType]):
    """What a task returned or raised, how long it took, and its labels.

    ``error`` survives storage: the exception's type and message come back in
    the client (see `taskiq.error_codec`). ``raise_for_error()`` re-raises it.
    """

    # NaN and infinities are stored as the JSON extensions Python's json writes, not as null.
    model_config = ConfigDict(arbitrary_types_allowed=True, ser_json_inf_nan="constants")

    is_err: bool
    log: str | None = None
    return_value: _ReturnType
    execution_time: float
    labels: dict[str, Any] = Field(default_factory=dict)
    error: BaseException | None = None

    @field_serializer("error")
    def _dump_error(self, error: BaseException | None) -> dict[str, Any] | None:
        return None if error is None else encode_exception(error)

    @field_validator("error", mode="before")
    @classmethod
    def _load_error(cls, value: Any) -> BaseException | None:
        if value is None or isinstance(value, BaseException):
            return value
        return decode_exception(value)

    def __getstate__(self) -> dict[Any, Any]:
        """Pickle the error as data, so any exception survives a process pool."""
        state = super().__getstate__()
        fields = dict(state["__dict__"])
        if fields.get("error") is not None:
            fields["error"] = encode_exception(fields["error"])
        return {**state, "__dict__": fields}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        fields = dict(state["__dict__"])
        if isinstance(fields.get("error"), dict):
            fields["error"] = decode_exception(fields["error"])
        super().__setstate__({**state, "__dict__": fields})

    def __str__(self) -> str:
        """Show what a person wants to see: the value, or the error."""
        if self.is_err:
            return f"error: {self.error!r}"
        return str(self.return_value)

    def raise_for_error(self) -> TaskiqResult[_ReturnType]:
        """Raise the task's exception if it failed; otherwise return self."""
        if self.error is not None:
            raise self.error
        return self
