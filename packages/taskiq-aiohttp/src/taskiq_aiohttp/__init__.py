"""aiohttp integration: the application's startup, state and a request inside tasks.

``taskiq_aiohttp.init(broker, "my_project.web:app")`` in the broker module
starts the app in each worker; tasks then take ``app: web.Application =
TaskiqDepends()`` or ``request: web.Request = TaskiqDepends()``.
See docs/integrations.md.
"""

from taskiq_aiohttp.context import populate_context
from taskiq_aiohttp.errors import AppLoadError
from taskiq_aiohttp.initializer import init

__all__ = ["AppLoadError", "init", "populate_context"]
