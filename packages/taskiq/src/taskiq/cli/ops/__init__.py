"""The operations commands: ``taskiq status``, ``workers``, ``task``, ``dead-letters``, ...

Each one takes the same ``module:broker`` argument as ``taskiq worker``, connects as a
client, asks the broker through a control-plane contract (`taskiq.control`), and prints
a table (or JSON with ``--json``). `OpsCommand` holds everything they share, so a
command is only its arguments and one coroutine.
"""

from taskiq.cli.ops.base import EXIT_FAILED, EXIT_NOT_SUPPORTED, OpsCommand
from taskiq.cli.ops.output import Output

__all__ = ["EXIT_FAILED", "EXIT_NOT_SUPPORTED", "OpsCommand", "Output"]
