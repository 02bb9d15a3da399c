"""taskiq_redis."""
