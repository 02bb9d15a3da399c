"""Built-in result backends."""

from taskiq.result_backends.dummy import DummyResultBackend

__all__ = ["DummyResultBackend"]
