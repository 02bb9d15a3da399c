"""FastAPI integration: the app's lifespan, state and dependencies inside tasks.

``taskiq_fastapi.init(broker, "my_project.web:app")`` in the broker module
starts the app in each worker; tasks then take ``request: Request =
TaskiqDepends()`` (or `HTTPConnection`, or any dependency built on them).
See docs/integrations.md.
"""

from taskiq_fastapi.context import populate_dependency_context
from taskiq_fastapi.errors import AppLoadError
from taskiq_fastapi.initializer import init

__all__ = ["AppLoadError", "init", "populate_dependency_context"]
