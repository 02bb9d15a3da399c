"""taskiq_nats."""
