"""Built-in result backends: `DummyResultBackend` (stores nothing) and the in-memory one."""

from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.result_backends.inmemory import InmemoryResultBackend

__all__ = ["DummyResultBackend", "InmemoryResultBackend"]
