"""The application factory. `create_app()` reads settings when it is called, never at import.

    uvicorn --factory api.main:create_app

In embedded mode (no broker configured) the app runs the job runner in-process; otherwise it
wakes Celery workers through the broker.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import errors
from api.deps import loggable_path, request_meta
from api.routes import (
    audit,
    availability,
    calendars,
    devices,
    directory_import,
    email,
    escalation_chains,
    fleet,
    groups,
    health,
    message_actions,
    messages,
    metrics,
    people,
    pilot_reports,
    pilots,
    policies,
    professions,
    reports,
    rest_records,
    rosters,
    shifts,
    surveys,
    templates,
    tokens,
)
from api.routes import webpush as webpush_routes
from api.scim import router as scim_router
from api.web import admin_pages, api_docs, installable, pages, pilot_pages, rest_pages, signin, statement
from kernel.audit import service as audit_log
from kernel.auth.oidc import AccessTokenProvider, OidcClient, OidcConfig
from kernel.auth.service import BearerTokenProvider, IdentityProvider
from kernel.clock import Clock, SystemClock
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.settings import Settings
from notify.jobs import registry
from notify.outbox import JobContext, Waker, install_waker
from notify.push import PushClient, default_transport, sendable
from notify.transports.config import PushSettings
from notify.transports.vapid import WebPush
from pilot.costs.fleet_register import FleetRegister

log = logging.getLogger("vila.api")

_STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    waker: Waker | None = None,
    run_jobs_in_process: bool | None = None,
    identity_providers: list[IdentityProvider] | None = None,
    push: PushClient | None = None,
    webpush: WebPush | None = None,
    providers: PushSettings | None = None,
    open_metrics: bool = False,
) -> FastAPI:
    """Build the API. Tests pass a settings object, a controllable clock and a waker of their own.
    `open_metrics` serves /metrics without VILA_METRICS_TOKEN (`vila serve` on a loopback address)."""
    settings = settings or Settings()
    oidc_config = OidcConfig.from_settings(settings)  # a bad role map stops the start, before anything opens
    clock = clock or SystemClock()
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    providers = providers or PushSettings.from_environment()  # read once, here, not at the first push
    if webpush is None:
        # The embedded mode makes its VAPID key on first start; production brings one in its settings.
        webpush = WebPush.configure(providers.webpush, settings.data_dir, create=settings.embedded)
    configured, read = webpush, providers
    push = push or PushClient(lambda: default_transport(settings, read, webpush=configured))
    ctx = JobContext(settings=settings, session_factory=factory, clock=clock, resources={"push": push})
    in_process = settings.embedded if run_jobs_in_process is None else run_jobs_in_process
    oidc = OidcClient(oidc_config) if oidc_config else None  # nothing is fetched until someone signs in

    runner = None
    if waker is None:
        if in_process:
            from notify.runner import EmbeddedRunner

            runner = EmbeddedRunner(ctx, registry)
            waker = runner
        else:
            from notify.celery_waker import CeleryWaker

            waker = CeleryWaker(settings.broker_url, settings.broker_transport_options)
    install_waker(factory, waker)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            push.close()
            if oidc is not None:
                oidc.close()
            close = getattr(waker, "close", None)
            if callable(close):
                close()
            engine.dispose()

    app = FastAPI(
        title="Vila",
        version="0.1.0",
        description="Push notifications to work devices that respect rest time.",
        lifespan=lifespan,
        docs_url=None,  # served by api.web.api_docs from Vila itself, not from a CDN
        redoc_url=None,
        dependencies=[Depends(errors.no_control_characters)],
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.job_context = ctx
    app.state.webpush = webpush
    app.state.sendable = sendable(providers, webpush)  # devices of other providers are refused
    app.state.waker = waker
    app.state.runner = runner
    app.state.open_metrics = open_metrics
    if identity_providers is None:
        identity_providers = [BearerTokenProvider()]
        if oidc is not None:
            identity_providers.append(AccessTokenProvider(oidc))  # the app's Entra access tokens
    app.state.identity_providers = identity_providers
    app.state.oidc = oidc  # web sign-in through the region's identity provider; None when not configured
    app.state.fleet_costs = FleetRegister()  # the pilot's cost model reads the fleet register's real figures

    errors.install(app)
    for module in (
        health,
        metrics,
        people,
        groups,
        directory_import,
        tokens,
        audit,
        availability,
        shifts,
        policies,
        rest_records,
        rosters,
        calendars,
        devices,
        webpush_routes,
        messages,
        message_actions,
        email,
        templates,
        escalation_chains,
        professions,
        pilots,
        pilot_reports,
        surveys,
        fleet,
    ):
        app.include_router(module.router)
    app.include_router(scim_router)  # the identity system's provisioning (SCIM 2.0)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.audited = False
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        if request.method in _STATE_CHANGING and response.status_code < 400 and not request.state.audited:
            _audit_fallback(request, response.status_code)
        log.info(
            "%s %s -> %d in %.1f ms",
            request.method,
            loggable_path(request),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            extra={"request_id": request.state.request_id},
        )
        return response

    def _audit_fallback(request: Request, status_code: int) -> None:
        """Every state-changing request leaves a record, even one whose route wrote none."""
        principal = getattr(request.state, "principal", None)
        meta = request_meta(request)
        with unit_of_work(factory) as session:
            audit_log.record(
                session=session,
                now=clock.now(),
                actor_id=principal.person_id if principal else None,
                actor_label=principal.label if principal else "anonymous",
                action=f"http.{request.method.lower()}",
                target_type="request",
                target_id=None,
                meta=meta,
                after={"status": status_code},
            )

    app.include_router(reports.router)
    app.include_router(rest_pages.router)
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(installable.router)
    app.include_router(pilot_pages.router)
    app.include_router(statement.router)
    api_docs.install(app)
    app.include_router(admin_pages.router)
    pages.mount_static(app)
    # Outermost, so that every layer (the audit, the access log, Secure cookies) sees the client
    # address and scheme as the trusted proxies report them; the servers do not apply the headers.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    return app
