"""What a chaos worker is told about its broker, as one JSON value in its environment.

The worker application (`taskiq_chaos.app`) and the scenario's own client
build the same broker from the same `ChaosConfig`; only the URLs differ (the
worker goes through the partition proxy, the client straight to the server).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Literal

ENV_VAR = "TASKIQ_CHAOS_CONFIG"
#: The shared Redis, where task runs are recorded (never restarted, never proxied).
RECORD_URL = "redis://127.0.0.1:6379/0"

BrokerKind = Literal["redis", "rabbitmq", "nats", "kafka"]


@dataclass(frozen=True)
class ChaosConfig:
    """One scenario's broker, queue names and redelivery pace."""

    kind: BrokerKind
    broker_url: str
    results_url: str
    queue: str
    record_key: str
    #: Redis ``idle_timeout`` / NATS ``ack_wait`` / Kafka session timeout, in ms: how soon a
    #: dead worker's task returns.
    redelivery_ms: int = 2000
    #: RabbitMQ prefetch (``qos``) per worker.
    qos: int = 10
    record_url: str = RECORD_URL

    def to_env(self) -> str:
        """The JSON put in `ENV_VAR` for the worker process."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> ChaosConfig:
        """Read the config the harness gave this worker process."""
        raw = os.environ.get(ENV_VAR)
        if not raw:
            raise RuntimeError(f"{ENV_VAR} is not set: start this app through taskiq_chaos.worker")
        return cls(**json.loads(raw))

    def replace(self, **changes: object) -> ChaosConfig:
        """A copy with some fields changed (e.g. the URL the worker uses)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
