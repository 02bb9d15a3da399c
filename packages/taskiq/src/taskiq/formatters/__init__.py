"""Formatters: how a task call is laid out on the wire.

`ProxyFormatter` (the default) encodes the message with the broker's
serializer; `JSONFormatter` always writes JSON.
"""

from taskiq.formatters.json_formatter import JSONFormatter
from taskiq.formatters.proxy_formatter import ProxyFormatter

__all__ = ["JSONFormatter", "ProxyFormatter"]
