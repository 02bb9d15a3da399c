"""RabbitMQ broker for taskiq, built on aio-pika.

``AioPikaBroker`` keeps the parameters of Taskiq's ``taskiq-aio-pika`` and adds
publisher confirms, dead-letter inspection and replay, plugin-free delays,
several queues and quorum queues. See docs/brokers/rabbitmq.md.
"""

from aio_pika import ExchangeType

from taskiq_aio_pika.broker import AioPikaBroker
from taskiq_aio_pika.dead_letters import DeadLetter
from taskiq_aio_pika.exceptions import QueueArgumentsMismatchError, TopologyError
from taskiq_aio_pika.topology import Exchange, Queue, QueueType
from taskiq_aio_pika.urls import mask_url

__all__ = [
    "AioPikaBroker",
    "DeadLetter",
    "Exchange",
    "ExchangeType",
    "Queue",
    "QueueArgumentsMismatchError",
    "QueueType",
    "TopologyError",
    "mask_url",
]
