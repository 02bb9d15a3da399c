"""taskiq_fastapi."""
