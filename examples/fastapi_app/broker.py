"""The broker, shared by the web server (which enqueues) and the workers (which run).

Settings come from the environment so several copies can share one Redis:
``REDIS_URL`` (default ``redis://127.0.0.1:6379``) and ``TASKIQ_QUEUE``
(default ``fastapi_app``), which names the stream, its consumer group and the
prefix of stored results.
"""

import os

import taskiq_fastapi
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
QUEUE = os.environ.get("TASKIQ_QUEUE", "fastapi_app")

broker = RedisStreamBroker(REDIS_URL, queue_name=QUEUE).with_result_backend(
    RedisAsyncResultBackend(REDIS_URL, result_ex_time=3600, prefix_str=QUEUE),
)

# Workers import the web app named here at startup and run its lifespan, so
# tasks see the same app.state as request handlers. The web server itself
# only stores the string.
taskiq_fastapi.init(broker, "fastapi_app.web:app")
