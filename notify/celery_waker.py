"""Wake Celery workers through the broker. Needs only the broker URL, not the worker code."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

RUN_JOB_TASK = "vila.run_job"


class CeleryWaker:
    def __init__(self, broker_url: str, transport_options: dict[str, object] | None = None) -> None:
        from celery import Celery

        self._app: Any = Celery("vila-producer", broker=broker_url)
        self._app.conf.broker_connection_retry_on_startup = True
        self._app.conf.broker_transport_options = transport_options or {}

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        self._app.send_task(RUN_JOB_TASK, args=[str(job_id)], queue=queue)

    def wake_at(self, job_id: uuid.UUID, queue: str, at: datetime) -> None:
        self._app.send_task(RUN_JOB_TASK, args=[str(job_id)], queue=queue, eta=at)

    def close(self) -> None:
        self._app.close()
