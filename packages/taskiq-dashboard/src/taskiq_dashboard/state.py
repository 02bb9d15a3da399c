"""`Dashboard`: what every handler needs (the broker, the sampler, the templates, the mode)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from taskiq_dashboard.sampling import Sampler
from taskiq_dashboard.security import CSRF_COOKIE, csrf_token

TEMPLATES = Path(__file__).parent / "templates"


def template_environment() -> Environment:
    """Jinja2 with autoescape on for every template: task data is always text."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class Dashboard:
    """One dashboard app's settings and shared parts (kept in ``app.state.dashboard``)."""

    broker: Any
    sampler: Sampler
    read_only: bool = False
    environment: Environment | None = None

    @property
    def can_cancel(self) -> bool:
        """Cancel is offered when the broker has ``cancel`` and actions are allowed."""
        return not self.read_only and hasattr(self.broker, "cancel")

    def render(
        self, request: Request, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render template ``name`` with the shared context; set the CSRF cookie if new."""
        environment = self.environment or template_environment()
        self.environment = environment
        base = request.scope.get("root_path", "").rstrip("/")
        token = csrf_token(request)
        html = environment.get_template(name).render(
            base=base,
            csrf=token,
            read_only=self.read_only,
            can_cancel=self.can_cancel,
            notice=request.query_params.get("notice"),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE, token, httponly=True, samesite="strict", path=base + "/"
            )
        return response


def dashboard_of(request: Request) -> Dashboard:
    """The `Dashboard` of the app serving ``request``."""
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard
