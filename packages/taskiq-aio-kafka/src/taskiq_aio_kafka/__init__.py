"""Kafka broker for taskiq."""
