"""The Celery application, built by `create_celery(settings)` at worker or beat start.

One task runs any outbox job by id (`vila.run_job`), one sweeps (`vila.sweep`), one runs a
periodic job by name (`vila.periodic`). Queues `urgent`, `default`, `bulk` and `release` are
consumed by separate worker processes, so an urgent message never waits behind a bulk broadcast
or the morning release. Tasks ack
late and prefetch one: a job may be long, and a worker that dies hands it back to the broker (and,
should the broker lose it, to the sweeper).
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu import Queue  # type: ignore[attr-defined]

from kernel.clock import SystemClock
from kernel.db import make_engine, make_session_factory
from kernel.settings import QUEUES, Settings
from notify.celery_waker import RUN_JOB_TASK
from notify.jobs import registry
from notify.outbox import JobContext, install_waker, run_job, sweep
from notify.push import PushClient, default_transport
from notify.transports.config import PushSettings

log = logging.getLogger("vila.worker")


class _AppWaker:
    def __init__(self, app: Celery) -> None:
        self._app = app

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        self._app.send_task(RUN_JOB_TASK, args=[str(job_id)], queue=queue)

    def wake_at(self, job_id: uuid.UUID, queue: str, at: datetime) -> None:
        self._app.send_task(RUN_JOB_TASK, args=[str(job_id)], queue=queue, eta=at)


class _WorkerState:
    """Per-process resources, built on first use so that no connection crosses a fork."""

    def __init__(self, app: Celery, settings: Settings, providers: PushSettings) -> None:
        self.app = app
        self.settings = settings
        self.providers = providers
        self._ctx: JobContext | None = None
        self._pid = 0

    def ctx(self) -> JobContext:
        if self._ctx is None or self._pid != os.getpid():
            engine = make_engine(self.settings.resolved_database_url, pool_size=4)
            factory = make_session_factory(engine)
            install_waker(factory, _AppWaker(self.app))
            push = PushClient(lambda: default_transport(self.settings, self.providers))
            self._ctx = JobContext(
                settings=self.settings, session_factory=factory, clock=SystemClock(), resources={"push": push}
            )
            self._pid = os.getpid()
        return self._ctx

    def reset(self, **_: Any) -> None:
        self._ctx = None


def create_celery(settings: Settings | None = None, providers: PushSettings | None = None) -> Celery:
    settings = settings or Settings()
    providers = providers or PushSettings.from_environment()  # read once, at start, not at the first push
    if not settings.broker_url:
        raise ValueError("VILA_BROKER_URL is not set: Celery needs a broker (redis:// or amqp://)")
    app = Celery("vila", broker=settings.broker_url)
    beat_schedule: dict[str, dict[str, Any]] = {
        "vila.sweep": {"task": "vila.sweep", "schedule": settings.sweep_interval_s, "options": {"queue": "urgent"}},
    }
    for spec in registry.periodic():
        beat_schedule[spec.name] = {
            "task": "vila.periodic",
            "schedule": spec.every_s,
            "args": [spec.name],
            "options": {"queue": spec.queue},
        }
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],  # type: ignore[no-untyped-call]
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options=settings.broker_transport_options,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule,
        timezone="UTC",
    )
    state = _WorkerState(app, settings, providers)
    worker_process_init.connect(state.reset, weak=False)

    @app.task(name=RUN_JOB_TASK)  # type: ignore[untyped-decorator]
    def run_job_task(job_id: str) -> str:
        return run_job(state.ctx(), registry, uuid.UUID(job_id))

    @app.task(name="vila.sweep")  # type: ignore[untyped-decorator]
    def sweep_task() -> int:
        return sweep(state.ctx(), _AppWaker(app)).redispatched

    @app.task(name="vila.periodic")  # type: ignore[untyped-decorator]
    def periodic_task(name: str) -> None:
        spec = registry.get(name)
        if spec is None:
            log.error("no periodic job named %s", name)
            return
        spec.tick(state.ctx())

    app.vila_state = state
    return app


def app_from_env() -> Celery:
    """For `celery -A workers.celery_app:app_from_env` style use; reads settings when called."""
    return create_celery(Settings())
