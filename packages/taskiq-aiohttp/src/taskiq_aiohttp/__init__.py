"""taskiq_aiohttp."""
