"""A broker module whose app path is wrong: its worker must stop at startup."""

import taskiq_fastapi
from fastapi_worker_support import QueueBroker

broker = QueueBroker()
taskiq_fastapi.init(broker, "fastapi_sample_app:no_such_app")
