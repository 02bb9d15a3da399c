"""NATS for taskiq: brokers, a key-value result backend and a schedule source.

- `JetStreamBroker` (recommended): at-least-once, a durable pull consumer per queue.
- `PullBasedJetStreamBroker`, `PushBasedJetStreamBroker`: the same guarantees
  with Taskiq's documented names and defaults.
- `NatsBroker`: core NATS with queue groups; at-most-once.
"""

from taskiq_nats._errors import ScheduleSourceError
from taskiq_nats.core import NatsBroker
from taskiq_nats.dead_letters import DeadLetter
from taskiq_nats.delivery import NatsAckableMessage, RedeliveryPolicy
from taskiq_nats.jetstream import BaseJetStreamBroker
from taskiq_nats.pull import JetStreamBroker, PullBasedJetStreamBroker
from taskiq_nats.push import PushBasedJetStreamBroker
from taskiq_nats.result_backend import NATSKeyValueResultBackend, NATSObjectStoreResultBackend
from taskiq_nats.schedule_source import NATSKeyValueScheduleSource

__all__ = [
    "BaseJetStreamBroker",
    "DeadLetter",
    "JetStreamBroker",
    "NATSKeyValueResultBackend",
    "NATSKeyValueScheduleSource",
    "NATSObjectStoreResultBackend",
    "NatsAckableMessage",
    "NatsBroker",
    "PullBasedJetStreamBroker",
    "PushBasedJetStreamBroker",
    "RedeliveryPolicy",
    "ScheduleSourceError",
]
