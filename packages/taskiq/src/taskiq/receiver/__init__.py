"""The worker side: turns deliveries into task runs and settles them."""

from taskiq.receiver.delivery import Delivery, MalformedMessageError
from taskiq.receiver.receiver import Receiver

__all__ = ["Delivery", "MalformedMessageError", "Receiver"]
