"""``taskiq dashboard APP [--host 127.0.0.1] [--port 8080]``: serve the dashboard with uvicorn.

Exit codes: 0 stopped; 1 a bad option (a non-loopback host without credentials, a
malformed ``--basic-auth``) or the app could not be loaded, said in one line.
"""

from __future__ import annotations

import logging
import os
import sys
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence

import uvicorn
from taskiq.abc.cmd import TaskiqCMD
from taskiq.cli.ops.app import load_broker
from taskiq.exceptions import TaskiqError

from taskiq_dashboard.app import dashboard_app
from taskiq_dashboard.security import Credentials, SecurityConfigError, check_bind

logger = logging.getLogger("taskiq.dashboard")

TOKEN_ENV = "TASKIQ_DASHBOARD_TOKEN"


class DashboardCMD(TaskiqCMD):
    """Serve the web dashboard of a broker."""

    short_help = "Serve a web dashboard: queues, workers, tasks, dead letters."

    def parser(self) -> ArgumentParser:
        """APP, where to listen, and the security options."""
        parser = ArgumentParser(prog="taskiq dashboard", description=self.short_help)
        parser.add_argument("app", help="The broker, as module:variable (as for taskiq worker).")
        parser.add_argument("--app-dir", default=None, help="Directory to import APP from.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (loopback).")
        parser.add_argument("--port", type=int, default=8080, help="Port to listen on (8080).")
        parser.add_argument(
            "--token",
            default=os.environ.get(TOKEN_ENV),
            help=f"Require this secret (Basic password or Bearer token); or set {TOKEN_ENV}.",
        )
        parser.add_argument("--basic-auth", default=None, help="Require USER:PASSWORD (Basic).")
        parser.add_argument("--read-only", action="store_true", help="Show, never act.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between live updates (1)."
        )
        return parser

    def exec(self, args: Sequence[str]) -> int:
        """Check the options, load the broker, serve until interrupted."""
        namespace = self.parser().parse_args(list(args))
        try:
            credentials = _credentials(namespace)
            check_bind(namespace.host, credentials)
            if not namespace.interval > 0:
                raise SecurityConfigError("--interval must be a positive number of seconds.")
            broker = load_broker(namespace.app, namespace.app_dir)
        except (SecurityConfigError, TaskiqError) as exc:
            sys.stderr.write(f"taskiq dashboard: {exc}\n")
            return 1
        app = dashboard_app(
            broker,
            read_only=namespace.read_only,
            credentials=credentials,
            manage_broker=True,
            interval=namespace.interval,
        )
        logger.info("Dashboard on http://%s:%s/", namespace.host, namespace.port)
        uvicorn.run(
            app,
            host=namespace.host,
            port=namespace.port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        return 0


def _credentials(namespace: Namespace) -> Credentials | None:
    if namespace.token and namespace.basic_auth:
        raise SecurityConfigError("Pass --token or --basic-auth, not both.")
    if namespace.basic_auth:
        return Credentials.parse_basic(namespace.basic_auth)
    if namespace.token:
        return Credentials(password=namespace.token)
    return None
