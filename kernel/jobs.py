"""Every job the workers run, declared once: its payload (a frozen dataclass of ids), its name,
its default queue and, for a periodic job, its interval.

`kernel.outbox.enqueue(session, FanOut(message_id=..., chunk=0), now=...)` writes the job's row;
the handlers registered for these payloads (`notify.jobs`) receive them decoded from that row.
The names and the JSON keys are those of the rows already stored: renaming either needs a
migration of the `job` table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kernel.outbox import JobPayload

# Messages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut(JobPayload, job="notify.fan_out", queue="bulk"):
    """Decide and persist one chunk of a large message's audience (the queue follows its priority)."""

    message_id: uuid.UUID
    chunk: int


@dataclass(frozen=True)
class SendDeliveries(JobPayload, job="notify.send", queue="default"):
    """Push a batch of deliveries (the queue follows the message's priority)."""

    delivery_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Withdraw(JobPayload, job="notify.withdraw", queue="urgent"):
    """Turn the pushed deliveries of a recalled message into recall notices."""

    message_id: uuid.UUID


@dataclass(frozen=True)
class SendEmails(JobPayload, job="notify.send_email", queue="default"):
    """Write and send a batch of e-mails."""

    email_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class SendScheduled(JobPayload, job="notify.send_scheduled", queue="default", every_s=15.0):
    """Send the scheduled messages whose instant has come."""


@dataclass(frozen=True)
class Escalate(JobPayload, job="notify.escalate", queue="urgent", every_s=30.0):
    """Escalate the recipients of urgent messages who did not acknowledge in time."""


@dataclass(frozen=True)
class FollowHandoffs(JobPayload, job="notify.role_handoffs", queue="default", every_s=60.0):
    """Decide again the held deliveries of role messages whose person no longer holds the role."""


@dataclass(frozen=True)
class RemindOnCall(JobPayload, job="notify.on_call_reminders", queue="default", every_s=60.0):
    """Send the going-on-call reminders that are due (in the person's working time only)."""


@dataclass(frozen=True)
class MarkStaleDevices(JobPayload, job="notify.stale_devices", queue="bulk", every_s=3600.0):
    """Mark devices that have not been seen for long as stale."""


@dataclass(frozen=True)
class Purge(JobPayload, job="notify.purge", queue="bulk", every_s=86400.0):
    """Delete the messages older than the retention period, and idempotency keys past their window."""


# Holds and their release --------------------------------------------------------------------------
# The release's own queue: it never delays urgent sends or small normal messages. Beat's tick is
# the safety net; releases run on time through wake-ups at the next due hold (release_timing).


@dataclass(frozen=True)
class PlanRelease(JobPayload, job="notify.release_holds", queue="release", every_s=30.0):
    """Plan the release of everyone with due holds (beat's tick, or a wake-up at the next due hold)."""


@dataclass(frozen=True)
class ReleasePeople(JobPayload, job="notify.release_people", queue="release"):
    """Release the due holds of a batch of people, one digest each."""

    person_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class RedecideHolds(JobPayload, job="notify.redecide_holds", queue="default"):
    """Decide a person's held messages again: their availability changed."""

    person_id: uuid.UUID


# People, devices and calendars ---------------------------------------------------------------------


@dataclass(frozen=True)
class Offboard(JobPayload, job="directory.offboard", queue="default"):
    """Take a deactivated person's live credentials and devices away."""

    person_id: uuid.UUID


@dataclass(frozen=True)
class OffboardingFollowUp(JobPayload, job="fleet.offboarding_follow_up", queue="default", every_s=900.0):
    """Disable the devices of people whose leaving date has passed; remind owners of overdue steps."""


@dataclass(frozen=True)
class RefreshRosters(JobPayload, job="policies.refresh_rosters", queue="bulk", every_s=3600.0):
    """Keep every roster's materialised on-call slots ahead of now."""


@dataclass(frozen=True)
class RefreshCalendar(JobPayload, job="policies.refresh_calendar", queue="bulk"):
    """Read one person's linked calendar now (just after they linked it)."""

    person_id: uuid.UUID


@dataclass(frozen=True)
class RefreshCalendars(JobPayload, job="policies.refresh_calendars", queue="bulk", every_s=900.0):
    """Read every linked calendar."""
