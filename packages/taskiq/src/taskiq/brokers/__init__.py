"""Brokers that ship with the core package."""
