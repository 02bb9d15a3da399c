"""RabbitMQ-specific errors, all inside taskiq's own hierarchy.

    taskiq.exceptions.BrokerError
    ├── BrokerConnectionError             (taskiq)
    │   ├── BrokerUnreachableError        (taskiq) RabbitMQ unreachable: the worker waits
    │   └── BrokerConfigError             (taskiq) login refused, bad URL: the worker exits
    │       └── TopologyError             a queue/exchange cannot be declared as asked
    │           └── QueueArgumentsMismatchError   it exists with a different argument
    └── SendTaskError                     (taskiq) publish nacked, unroutable or timed out

Driver exceptions (aio-pika, aiormq) never leave the package: `errors.amqp_errors`
turns them into these, chained with ``from``.
"""

from __future__ import annotations

from taskiq.exceptions import BrokerConfigError


class TopologyError(BrokerConfigError):
    """RabbitMQ refused to declare or bind an exchange or queue (it will not heal)."""

    __template__ = "RabbitMQ refused to declare {entity}: {reason}"


class QueueArgumentsMismatchError(TopologyError):
    """A queue or exchange exists already, declared with a different argument."""

    __template__ = (
        "{entity} already exists on the server with a different {argument!r} "
        "(server said: {reason}). Either use the same settings as the existing one, "
        "or delete it (rabbitmqctl delete_queue / the management UI) so it can be "
        "declared again."
    )
