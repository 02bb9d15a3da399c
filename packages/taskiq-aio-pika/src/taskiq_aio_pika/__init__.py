"""taskiq_aio_pika."""
