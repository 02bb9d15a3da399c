"""Formatters: how a task call is laid out on the wire."""
