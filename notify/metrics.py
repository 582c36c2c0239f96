"""Prometheus metrics, read from the database at scrape time.

The database is the truth shared by every API and worker process, so the figures an operator
needs (held backlog, the oldest due hold, queue lag) are queried from it rather than counted in
one process's memory.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notify.models import Delivery, Device, Message, Recipient
from notify.outbox import Job


def render(*, session: Session, now: datetime) -> bytes:
    registry = CollectorRegistry()
    messages = Gauge("vila_messages_accepted", "Messages accepted, by priority.", ["priority"], registry=registry)
    for priority, n in session.execute(select(Message.priority, func.count()).group_by(Message.priority)):
        messages.labels(priority).set(n)
    decisions = Gauge("vila_decisions", "Per-recipient decisions, by kind.", ["kind"], registry=registry)
    for kind, n in session.execute(select(Recipient.decision, func.count()).group_by(Recipient.decision)):
        decisions.labels(kind).set(n)
    deliveries = Gauge("vila_deliveries", "Deliveries by state and provider.", ["state", "provider"], registry=registry)
    for state, provider, n in session.execute(
        select(Delivery.state, Delivery.provider, func.count()).group_by(Delivery.state, Delivery.provider)
    ):
        deliveries.labels(state, provider).set(n)
    devices = Gauge("vila_devices", "Devices by state and platform.", ["state", "platform"], registry=registry)
    for state, platform, n in session.execute(
        select(Device.state, Device.platform, func.count()).group_by(Device.state, Device.platform)
    ):
        devices.labels(state, platform).set(n)
    held = Gauge("vila_held_backlog", "Held deliveries waiting for their release instant.", registry=registry)
    held.set(session.scalar(select(func.count()).where(Delivery.state == "held")) or 0)
    oldest_due = session.scalar(
        select(func.min(Delivery.not_before)).where(Delivery.state == "held", Delivery.not_before <= now)
    )
    overdue = Gauge(
        "vila_oldest_due_hold_seconds", "How long the oldest due hold has waited past its release.", registry=registry
    )
    overdue.set((now - oldest_due).total_seconds() if oldest_due else 0)
    pending = Gauge("vila_jobs_pending", "Jobs waiting, by queue.", ["queue"], registry=registry)
    lag = Gauge("vila_queue_lag_seconds", "Age of the oldest due job, by queue.", ["queue"], registry=registry)
    failed = Gauge("vila_jobs_failed", "Jobs that failed for good, by queue.", ["queue"], registry=registry)
    for queue in ("urgent", "default", "bulk"):
        pending.labels(queue).set(0)
        lag.labels(queue).set(0)
        failed.labels(queue).set(0)
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
