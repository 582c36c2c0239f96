"""The registry of job handlers: the task code that Celery workers and the embedded runner share.

Handlers take a `JobContext` and a JSON payload of ids, reload what they need, return quietly
when the row is gone, and are safe to run twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from kernel.db import unit_of_work
from kernel.directory import service as directory
from notify.outbox import JobContext, JobRegistry

registry = JobRegistry()


@registry.job("directory.offboard", queue="default")
def offboard_person(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A deactivated person keeps no live credentials."""
    with unit_of_work(ctx.session_factory) as session:
        directory.offboard(session=session, person_id=uuid.UUID(payload["person_id"]), now=ctx.clock.now())
