"""The worker side: turns deliveries into task runs and settles them."""

from taskiq.receiver.receiver import Receiver

__all__ = ["Receiver"]
