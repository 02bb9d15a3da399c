"""taskiq-dashboard: queues, workers, tasks and dead letters of a taskiq app, live, in a browser.

Built only on the control-plane contracts (`taskiq.control`), so it works with every
broker that speaks them and shows "not supported" for what one cannot do.
"""

from taskiq_dashboard.app import dashboard_app
from taskiq_dashboard.security import Credentials, SecurityConfigError, check_bind

__all__ = ["Credentials", "SecurityConfigError", "check_bind", "dashboard_app"]
