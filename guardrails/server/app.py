"""The Starlette app that serves the moderation service: routes, error answers, and a lifespan
that watches the policy for changes (or SIGHUP) and closes the audit log."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from guardrails.asgi.body import ClientGone
from guardrails.audit import AuditLog
from guardrails.engine import Engine
from guardrails.reload import LiveEngine
from guardrails.server.requests import _BadRequest, _error
from guardrails.server.service import _Service

__all__ = ["create_app"]


def _handler(service: _Service, method: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            response = await method(request)
        except _BadRequest as exc:
            response = _error(exc.status, exc.error, exc.detail)
        except (ClientGone, ClientDisconnect):  # nobody to answer; not a server error
            response = _error(400, "client_disconnected", "the body ended early")
        if service.metrics is not None:
            service.metrics.requests.labels(request.url.path, str(response.status_code)).inc()
        return response

    return endpoint


def create_app(
    policy: str | os.PathLike[str] | Engine | LiveEngine,
    *,
    audit: AuditLog | str | os.PathLike[str] | None = None,
    metrics: Any = True,
    shadow: bool = False,
    watch: bool = False,
    sighup: bool = False,
    max_body: int = 8 << 20,
    body_timeout: float = 60.0,
    classifiers: Any = None,
) -> Starlette:
    """Build the service. ``metrics=True`` makes a private :class:`~guardrails.metrics.Metrics`;
    ``watch`` reloads the policy when its files change, ``sighup`` on SIGHUP; ``max_body`` bytes
    (413) must arrive within ``body_timeout`` seconds (408); ``classifiers`` is a
    :class:`~guardrails.registry.ClassifierRegistry` for /v1/classify (default: from the
    ``GUARDRAILS_CLASSIFIERS`` environment variable)."""
    # watchfiles (``watch``) or SIGHUP reload it here, not a look at the files per request
    live = policy if isinstance(policy, LiveEngine) else LiveEngine(policy, reload_interval=None)
    if metrics is True:
        from guardrails.metrics import Metrics

        metrics = Metrics()
    if audit is not None and not isinstance(audit, AuditLog):
        audit = AuditLog(audit)
    if classifiers is None and os.environ.get("GUARDRAILS_CLASSIFIERS"):
        from guardrails.registry import registry_from_env

        classifiers = registry_from_env()
    service = _Service(live, audit, metrics or None, shadow, max_body, classifiers, body_timeout)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(live.watch(stop)) if watch else None
        if sighup:  # also starts a new audit file once logrotate has moved the old one
            reopen = audit.reopen if isinstance(audit, AuditLog) else None
            live.install_sighup(asyncio.get_running_loop(), also=reopen)
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            if isinstance(audit, AuditLog):
                audit.close()

    routes = [
        Route("/v1/moderate", _handler(service, service.moderate), methods=["POST"]),
        Route("/v1/classify", _handler(service, service.classify), methods=["POST"]),
        Route("/healthz", _handler(service, service.healthz), methods=["GET"]),
        Route("/metrics", _handler(service, service.metrics_endpoint), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "") if status < 500 else "internal error"
        return _error(status, "http_error" if status < 500 else "internal_error", str(detail))

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )
    app.state.guardrails = service
    return app
