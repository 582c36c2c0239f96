"""Prometheus metrics, read from the database at scrape time.

The database is the truth shared by every API and worker process, so the figures an operator
needs (held backlog, the oldest due hold, queue lag) are queried from it rather than counted in
one process's memory. Every query reads an index or the last 24 hours only: a scrape costs the
same after a year of broadcasts as on the first day. Messages, decisions and deliveries are
counted for the messages accepted in the last 24 hours (`..._24h`); holds and jobs as they are now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.settings import QUEUES
from notify.models import Delivery, Device, Message, Recipient
from notify.outbox import Job

WINDOW = timedelta(hours=24)


def render(*, session: Session, now: datetime) -> bytes:
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=registry)

    since = now - WINDOW
    recent = select(Message.id).where(Message.created_at >= since)
    messages = gauge(
        "vila_messages_accepted_24h", "Messages accepted in the last 24 hours, by priority.", ("priority",)
    )
    for priority, n in session.execute(
        select(Message.priority, func.count()).where(Message.created_at >= since).group_by(Message.priority)
    ):
        messages.labels(priority).set(n)
    decisions = gauge("vila_decisions_24h", "Decisions for the messages of the last 24 hours, by kind.", ("kind",))
    for kind, n in session.execute(
        select(Recipient.decision, func.count()).where(Recipient.message_id.in_(recent)).group_by(Recipient.decision)
    ):
        decisions.labels(kind).set(n)
    deliveries = gauge(
        "vila_deliveries_24h",
        "Deliveries of the messages of the last 24 hours, by state and provider.",
        ("state", "provider"),
    )
    for state, provider, n in session.execute(
        select(Delivery.state, Delivery.provider, func.count())
        .where(Delivery.message_id.in_(recent))
        .group_by(Delivery.state, Delivery.provider)
    ):
        deliveries.labels(state, provider).set(n)
    devices = gauge("vila_devices", "Devices by state and platform.", ("state", "platform"))
    for state, platform, n in session.execute(
        select(Device.state, Device.platform, func.count()).group_by(Device.state, Device.platform)
    ):
        devices.labels(state, platform).set(n)
    held = gauge("vila_held_backlog", "Held deliveries waiting for their release instant.")
    held.set(session.scalar(select(func.count()).where(Delivery.state == "held")) or 0)
    oldest_due = session.scalar(
        select(func.min(Delivery.not_before)).where(Delivery.state == "held", Delivery.not_before <= now)
    )
    overdue = gauge("vila_oldest_due_hold_seconds", "How long the oldest due hold has waited past its release.")
    overdue.set((now - oldest_due).total_seconds() if oldest_due else 0)
    pending = gauge("vila_jobs_pending", "Jobs waiting, by queue.", ("queue",))
    lag = gauge("vila_queue_lag_seconds", "Age of the oldest due job, by queue.", ("queue",))
    failed = gauge("vila_jobs_failed", "Jobs that failed for good, by queue.", ("queue",))
    for name in QUEUES:
        pending.labels(name).set(0)
        lag.labels(name).set(0)
        failed.labels(name).set(0)
    for queue, n, oldest in session.execute(
        select(Job.queue, func.count(), func.min(Job.available_at))
        .where(Job.state.in_(("pending", "running")), Job.available_at <= now)
        .group_by(Job.queue)
    ):
        pending.labels(queue).set(n)
        lag.labels(queue).set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
    for queue, n in session.execute(select(Job.queue, func.count()).where(Job.state == "failed").group_by(Job.queue)):
        failed.labels(queue).set(n)
    return generate_latest(registry)
