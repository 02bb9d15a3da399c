"""Taskiq's older import path for `SimpleRetryMiddleware`, kept for existing programs."""

from taskiq.middlewares.simple_retry_middleware import SimpleRetryMiddleware

__all__ = ["SimpleRetryMiddleware"]
