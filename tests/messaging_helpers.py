"""Helpers for messaging tests: availability facts, a recording push client, running the jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import Clock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.jobs import registry
from notify.models import Device
from notify.outbox import JobContext, run_due
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from policies.models import DndSession, Shift


class Facts:
    """Write availability facts straight into the database."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def shift(self, person: Person, start: datetime, end: datetime) -> None:
        with unit_of_work(self.session_factory) as s:
            now = self.clock.now()
            s.add(
                Shift(
                    person_id=person.id,
                    planned_start=start,
                    planned_end=end,
                    kind="planned",
                    created_at=now,
                    updated_at=now,
                )
            )

    def dnd(self, person: Person, start: datetime, end: datetime) -> None:
        with unit_of_work(self.session_factory) as s:
            s.add(
                DndSession(
                    person_id=person.id, start_at=start, end_at=end, source="manual", created_at=self.clock.now()
                )
            )

    def device(
        self, person: Person, *, platform: str = "android", token: str | None = None, ownership: str = "work"
    ) -> Device:
        now = self.clock.now()
        provider = "apns" if platform == "ios" else "fcm"
        with unit_of_work(self.session_factory) as s:
            device = Device(
                person_id=person.id,
                name=f"{platform} device",
                platform=platform,
                provider=provider,
                token=token
                or (
                    f"{person.id.hex}{platform}".ljust(64, "0")[:64]
                    if platform == "ios"
                    else f"fcm-{person.id.hex}-{platform}"
                ),
                ownership=ownership,
                state="active",
                last_seen_at=now,
                created_at=now,
                updated_at=now,
            )
            s.add(device)
            return device


def recording_push() -> tuple[PushClient, RecordingTransport]:
    transport = RecordingTransport()
    return PushClient(lambda: transport), transport


def run_jobs(settings: Settings, session_factory: sessionmaker[Session], clock: Clock, push: PushClient) -> int:
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock, resources={"push": push})
    return run_due(ctx, registry)


def run_periodic(
    name: str, settings: Settings, session_factory: sessionmaker[Session], clock: Clock, push: PushClient
) -> None:
    spec = registry.get(name)
    assert spec is not None
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock, resources={"push": push})
    spec.tick(ctx)


def workday(clock: Clock, start_h: int = 6, end_h: int = 15) -> tuple[datetime, datetime]:
    """Today's shift in UTC around the test clock (10:00 Stockholm on a Monday)."""
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(hours=start_h), day + timedelta(hours=end_h)


def together(*work: Callable[[], None]) -> None:
    """Run each callable on a thread of its own, all at once; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(fn: Callable[[], None]) -> None:
        try:
            start.wait()
            fn()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[0]
