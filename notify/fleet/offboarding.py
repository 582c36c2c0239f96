"""Offboarding: a leaver's checklist. Deactivating a person (or a leaving date) starts it:

    disable_push   block every push device of the person (at once on deactivation)
    return_asset   get each asset they have back               owner: their manager   2 working days
    wipe_asset     wipe it, so it can be reused                owner: device admin    5 working days
    subscription   end or transfer the asset's subscription    owner: device admin    5 working days
    extension      end or transfer its internal extension      owner: device admin    5 working days

Each step has an owner and a due date; an overdue step reminds its owner once a working day with an
ordinary Vila message (held during their rest like any other). Steps about an asset close
themselves when the asset moves (`steps.close_for_asset`). Nothing is deleted: a subscription is
ended, an asset returned and wiped, the checklist finished.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.directory import service as directory
from kernel.directory.models import GroupManager, Person
from kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kernel.timezones import local_instant
from notify.fleet import assets, installs, steps
from notify.fleet.lifecycle import IN_USE, By
from notify.fleet.models import Asset, Assignment, Offboarding, OffboardingStep, Subscription
from notify.fleet.schemas import StepDone, StepUpdate
from notify.fleet.workdays import add_working_days

RETURN_DAYS = 2
WIPE_DAYS = 5
SUBSCRIPTION_DAYS = 5
OUTCOMES: dict[str, tuple[str, ...]] = {
    "disable_push": ("disabled", "not_needed"),
    "return_asset": ("returned", "lost", "not_needed"),
    "wipe_asset": ("wiped", "not_needed"),
    "subscription": ("ended", "transferred", "not_needed"),
    "extension": ("ended", "transferred", "not_needed"),
}
DISABLED_REASON = "the person left"


def person_deactivated(*, session: Session, person_id: uuid.UUID, by: By, now: datetime) -> Offboarding:
    """What follows a person's deactivation, in one place (one handler once domain events exist):
    their push devices are blocked at once, and their device checklist starts."""
    installs.block_person(session, person_id=person_id, reason=DISABLED_REASON, now=now)
    return start(session=session, person_id=person_id, leaving_on=None, by=by, now=now)


def _audit(
    session: Session,
    *,
    by: By,
    now: datetime,
    action: str,
    target: uuid.UUID,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action=f"fleet.{action}",
        target_type=action.split(".")[0],
        target_id=target,
        meta=by.meta,
        before=before,
        after=after,
    )


def it_owner(session: Session) -> uuid.UUID | None:
    """A device administrator: the one with the fewest open steps (role it, else admin)."""
    for role in ("it", "admin"):
        candidates = list(
            session.scalars(
                select(Person.id)
                .where(Person.active.is_(True), cast(Person.roles, String).like(f'%"{role}"%'))
                .order_by(Person.name)
            )
        )
        if candidates:
            load = dict(
                session.execute(
                    select(OffboardingStep.owner_id, func.count())
                    .where(OffboardingStep.owner_id.in_(candidates), OffboardingStep.done_at.is_(None))
                    .group_by(OffboardingStep.owner_id)
                ).all()
            )
            return min(candidates, key=lambda pid: load.get(pid, 0))
    return None


def manager_of(session: Session, person_id: uuid.UUID) -> uuid.UUID | None:
    """An active manager of one of the person's groups, the nearest group first."""
    for group_id in directory.group_ids_of(session=session, person_id=person_id):
        for ancestor in directory.ancestor_ids(session=session, group_id=group_id):
            found = session.scalar(
                select(GroupManager.person_id)
                .join(Person, Person.id == GroupManager.person_id)
                .where(GroupManager.group_id == ancestor, Person.active.is_(True), Person.id != person_id)
                .limit(1)
            )
            if found is not None:
                return found
    return None


def start(*, session: Session, person_id: uuid.UUID, leaving_on: date | None, by: By, now: datetime) -> Offboarding:
    """Start the person's checklist (or return the one already open). With a leaving date still
    ahead, their devices are disabled when the day has ended; otherwise now."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    open_one = session.scalar(
        select(Offboarding).where(Offboarding.person_id == person_id, Offboarding.finished_at.is_(None))
    )
    if open_one is not None:
        if not person.active:
            _disable_now(session, open_one, by=by, now=now)
        return open_one
    moment = now
    if leaving_on is not None and person.active:
        moment = max(now, local_instant(person.timezone, leaving_on + timedelta(days=1), time(0)))
    offboarding = Offboarding(
        person_id=person_id,
        reason="deactivated" if not person.active else "leaving",
        leaving_on=leaving_on,
        started_at=now,
    )
    session.add(offboarding)
    session.flush()
    it = it_owner(session)
    zone = person.timezone
    todo: list[OffboardingStep] = [_step(offboarding, "disable_push", None, None, due=moment)]
    held = session.execute(
        select(Assignment.asset_id).where(Assignment.person_id == person_id, Assignment.ended_at.is_(None))
    ).scalars()
    for asset_id in held:
        manager = manager_of(session, person_id) or it
        todo.append(
            _step(offboarding, "return_asset", asset_id, manager, due=add_working_days(moment, zone, RETURN_DAYS))
        )
        todo.append(_step(offboarding, "wipe_asset", asset_id, it, due=add_working_days(moment, zone, WIPE_DAYS)))
        for sub in session.scalars(
            select(Subscription).where(Subscription.asset_id == asset_id, Subscription.ended_at.is_(None))
        ):
            due = add_working_days(moment, zone, SUBSCRIPTION_DAYS)
            todo.append(_step(offboarding, "subscription", asset_id, it, due=due, subscription_id=sub.id))
            if sub.extension:
                todo.append(_step(offboarding, "extension", asset_id, it, due=due, subscription_id=sub.id))
    session.add_all(todo)
    session.flush()
    _audit(
        session,
        by=by,
        now=now,
        action="offboarding.start",
        target=offboarding.id,
        after={
            "person_id": str(person_id),
            "reason": offboarding.reason,
            "leaving_on": leaving_on.isoformat() if leaving_on else None,
            "steps": len(todo),
        },
    )
    if moment <= now:
        _disable_now(session, offboarding, by=by, now=now)
    return offboarding


def _step(
    offboarding: Offboarding,
    kind: str,
    asset_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    *,
    due: datetime,
    subscription_id: uuid.UUID | None = None,
) -> OffboardingStep:
    return OffboardingStep(
        offboarding_id=offboarding.id,
        kind=kind,
        asset_id=asset_id,
        subscription_id=subscription_id,
        owner_id=owner_id,
        due_at=due,
        reminders=0,
    )


def _disable_now(session: Session, offboarding: Offboarding, *, by: By, now: datetime) -> None:
    installs.block_person(session, person_id=offboarding.person_id, reason=DISABLED_REASON, now=now)
    for step in session.scalars(
        select(OffboardingStep).where(
            OffboardingStep.offboarding_id == offboarding.id,
            OffboardingStep.kind == "disable_push",
            OffboardingStep.done_at.is_(None),
        )
    ):
        steps.done(session, step=step, outcome="disabled", note=None, by=by, now=now)


def require_step(*, session: Session, offboarding_id: uuid.UUID, step_id: uuid.UUID) -> OffboardingStep:
    step = session.get(OffboardingStep, step_id)
    if step is None or step.offboarding_id != offboarding_id:
        raise NotFound(f"no step {step_id} in offboarding {offboarding_id}")
    return step


def complete(*, session: Session, step: OffboardingStep, data: StepDone, by: By, now: datetime) -> OffboardingStep:
    """Do a step: its owner or device administration. Moving the asset or ending the subscription
    happens here too, audited like every other way of doing it."""
    if not by.is_it and step.owner_id != by.person_id:
        raise PermissionDenied("a step is done by its owner or by device administration (role it or admin)")
    if step.done_at is not None:
        raise Conflict(f"this step was done at {step.done_at.isoformat()} ({step.outcome})")
    if data.outcome not in OUTCOMES[step.kind]:
        raise InvalidInput(f"a {step.kind} step ends as {', '.join(OUTCOMES[step.kind])}, not {data.outcome}")
    asset = session.get(Asset, step.asset_id) if step.asset_id else None
    sub = session.get(Subscription, step.subscription_id) if step.subscription_id else None
    it = By(person_id=by.person_id, label=by.label, roles=by.roles | {"it"}, meta=by.meta)  # the owner acts for IT
    if step.kind == "disable_push" and data.outcome == "disabled":
        leaver = session.scalar(select(Offboarding.person_id).where(Offboarding.id == step.offboarding_id))
        if leaver is not None:
            installs.block_person(session, person_id=leaver, reason=DISABLED_REASON, now=now)
    elif step.kind == "return_asset" and asset is not None and data.outcome in ("returned", "lost"):
        if asset.state in IN_USE:
            assets.move(session=session, asset=asset, target=data.outcome, by=it, now=now, note=data.note)
    elif step.kind == "wipe_asset" and asset is not None and data.outcome == "wiped":
        if asset.state in IN_USE:
            raise Conflict(f"{asset.serial} is still {asset.state}: return it before it is wiped")
        if asset.state == "returned":
            assets.move(session=session, asset=asset, target="wiped", by=it, now=now, note=data.note)
    elif sub is not None and data.outcome in ("ended", "transferred"):
        _settle_subscription(session, step=step, sub=sub, data=data, by=by, now=now)
    session.flush()
    if step.done_at is None:  # a move above may have closed it already
        steps.done(session, step=step, outcome=data.outcome, note=data.note, by=by, now=now)
    return step


def _settle_subscription(
    session: Session, *, step: OffboardingStep, sub: Subscription, data: StepDone, by: By, now: datetime
) -> None:
    before = sub.snapshot()
    if step.kind == "subscription" and data.outcome == "ended":
        sub.ended_at = now
    elif step.kind == "subscription" and data.transfer_to_asset_id is not None:
        if session.get(Asset, data.transfer_to_asset_id) is None:
            raise InvalidInput(f"no asset with id {data.transfer_to_asset_id}")
        sub.asset_id = data.transfer_to_asset_id
    elif step.kind == "extension" and data.outcome == "ended":
        sub.extension = None
    sub.updated_at = now
    _audit(session, by=by, now=now, action="subscription.update", target=sub.id, before=before, after=sub.snapshot())


def update_step(*, session: Session, step: OffboardingStep, data: StepUpdate, by: By, now: datetime) -> None:
    """Give a step another owner or due date (device administration)."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("owner_id") is not None:
        owner = session.get(Person, changes["owner_id"])
        if owner is None or not owner.active:
            raise InvalidInput(f"no active person with id {changes['owner_id']}")
        step.owner_id = owner.id
    if changes.get("due_at") is not None:
        step.due_at = changes["due_at"]
        step.reminded_at = None
    session.flush()
    _audit(
        session,
        by=by,
        now=now,
        action="offboarding.step_update",
        target=step.offboarding_id,
        after={
            "step": str(step.id),
            "owner_id": str(step.owner_id) if step.owner_id else None,
            "due_at": step.due_at.isoformat(),
        },
    )
