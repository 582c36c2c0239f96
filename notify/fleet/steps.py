"""Offboarding steps that close themselves: when an asset moves (returned, lost, wiped, ...) the
open checklist steps about it are done, whichever way the move was made; a checklist whose steps
are all done is finished."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from notify.fleet.lifecycle import By
from notify.fleet.models import Offboarding, OffboardingStep

# asset state reached -> {step kind: outcome} it completes
_CLOSES: dict[str, dict[str, str]] = {
    "returned": {"return_asset": "returned"},
    "in_repair": {"return_asset": "returned"},
    "lost": {"return_asset": "lost"},
    "wiped": {"return_asset": "returned", "wipe_asset": "wiped"},
    "retired": {"return_asset": "returned", "wipe_asset": "not_needed"},
}


def done(session: Session, *, step: OffboardingStep, outcome: str, note: str | None, by: By, now: datetime) -> None:
    """Mark one step done with its outcome, audited; finish its checklist if nothing is left."""
    step.done_at, step.done_by, step.outcome = now, by.label[:254], outcome
    if note:
        step.note = note
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action="fleet.offboarding.step_done",
        target_type="offboarding",
        target_id=step.offboarding_id,
        meta=by.meta,
        after={"step": str(step.id), "kind": step.kind, "outcome": outcome, "note": note},
    )
    session.flush()
    finish_if_complete(session, offboarding_id=step.offboarding_id, now=now)


def finish_if_complete(session: Session, *, offboarding_id: uuid.UUID, now: datetime) -> bool:
    left = session.scalar(
        select(OffboardingStep.id).where(
            OffboardingStep.offboarding_id == offboarding_id, OffboardingStep.done_at.is_(None)
        )
    )
    offboarding = session.get(Offboarding, offboarding_id)
    if left is not None or offboarding is None or offboarding.finished_at is not None:
        return False
    offboarding.finished_at = now
    session.flush()
    return True


def close_for_asset(
    session: Session, *, asset_id: uuid.UUID, state: str, by: By, now: datetime, note: str | None = None
) -> int:
    """The asset reached `state`: complete the open steps about it that this settles."""
    closes = _CLOSES.get(state)
    if not closes:
        return 0
    steps = session.scalars(
        select(OffboardingStep).where(
            OffboardingStep.asset_id == asset_id,
            OffboardingStep.done_at.is_(None),
            OffboardingStep.kind.in_(list(closes)),
        )
    ).all()
    for step in steps:
        done(session, step=step, outcome=closes[step.kind], note=note, by=by, now=now)
    return len(steps)
