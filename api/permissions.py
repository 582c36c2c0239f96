"""Who may call a REST route: the permission rules, named once here and declared on each route as a dependency.

A route states its rule in its signature: `me: HrOrAdmin` (the caller, who must be HR or an
admin), `person_id: ActsOnPerson` (the person named in the path, whom the caller may act on),
`group_id: ManagesGroup` (the group in the path, which the caller keeps). A rule that needs a row
loaded first (the owner of a shift found by its id, the group named in a body) is called in the
route's body by the same name: `keeps_schedule_of(...)`, `manages_group(...)`. What a listing
shows a caller is a scope, named here too: `register_within(...)`, `device_owner(...)`.

The rules rest on the predicates of `kernel.auth.service` (who acts on whom: yourself; admin and HR
on anyone; a manager on the members of the groups they manage and their subgroups). Deny by default:
`tests/api/test_authz_matrix.py` runs every route as every kind of caller on a target in their own
unit and in another, and `docs/security.md` carries the table that `tools/authz_matrix.py` generates.
The pilot's rules are in `api/routes/pilot_access.py`, the fleet's guard in `api/routes/fleet/deps.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.orm import Session

from api.deps import CurrentPerson, SessionDep
from kernel.auth.service import (
    Principal,
    can_act_on_group,
    can_act_on_person,
    managed_groups,
    require_group_rights,
    require_person_rights,
    require_role,
)
from kernel.directory import service as directory
from kernel.errors import NotFound, PermissionDenied

# Roles ------------------------------------------------------------------------------------------


def role_rule(*roles: str) -> Callable[[Principal], Principal]:
    """The caller, who must hold one of `roles`."""

    def rule(me: CurrentPerson) -> Principal:
        require_role(me, *roles)
        return me

    rule.__name__ = "needs_" + "_or_".join(roles)
    return rule


# HR (and admin) keep the register (people, groups, professions), the rest policies, the rest
# records and the audit.
HrOrAdmin = Annotated[Principal, Depends(role_rule("hr", "admin"))]
# The register is read by HR and admin, by device administration (it gives devices to anyone) and
# by managers (the people of the groups they manage).
PeopleReader = Annotated[Principal, Depends(role_rule("admin", "hr", "it", "manager"))]
# The rest policies are read by those who keep them, apply them or watch over them (the union).
PolicyReader = Annotated[Principal, Depends(role_rule("hr", "admin", "manager", "union"))]
# Compliance reports: HR and admin, and union and safety representatives: a report holds counts per
# group and week, and overrides per sender (an employer's act), never a person's own contacts.
ComplianceReader = Annotated[Principal, Depends(role_rule("hr", "admin", "union"))]
# Schedules, rosters, calendar rules and escalation chains are kept by managers, HR and admin.
Keeper = Annotated[Principal, Depends(role_rule("manager", "hr", "admin"))]
# The mail system's bounce reports arrive with a token of the role it (or an admin's).
BounceIntake = Annotated[Principal, Depends(role_rule("admin", "it"))]


# People -----------------------------------------------------------------------------------------

PersonRef = Annotated[str, Path(description="A person id, or `me`.")]


def person_of(ref: str, me: Principal) -> uuid.UUID:
    """The person a `{person}` path segment names: an id, or `me` for the caller."""
    if ref == "me":
        return me.person_id
    try:
        return uuid.UUID(ref)
    except ValueError as exc:
        raise NotFound("no such person; use a person id or 'me'") from exc


def acts_on(session: Session, me: Principal, person_id: uuid.UUID) -> None:
    """Yourself; admin and HR on anyone; a manager on the members of the groups they manage."""
    require_person_rights(session=session, principal=me, person_id=person_id)


def keeps_schedule_of(session: Session, me: Principal, person_id: uuid.UUID) -> None:
    """Schedules, working hours and on-call slots are the employer's: a manager of the person, HR or
    admin. A manager's own schedule is kept by their manager, HR or admin."""
    if not me.has("manager", "hr", "admin"):
        raise PermissionDenied("schedules and on-call slots are kept by managers, HR and admin")
    require_person_rights(session=session, principal=me, person_id=person_id)
    if person_id == me.person_id and not me.has("hr", "admin"):
        raise PermissionDenied("a manager's own schedule is kept by their manager, HR or admin")


def may_schedule(session: Session, me: Principal, person_id: uuid.UUID) -> bool:
    """`keeps_schedule_of` as a yes or no, for a caller who keeps schedules at all (a file's rows)."""
    own = person_id == me.person_id and not me.has("hr", "admin")
    return not own and can_act_on_person(session=session, principal=me, person_id=person_id)


def keeps_own_or_schedule_of(session: Session, me: Principal, person_id: uuid.UUID) -> None:
    """Leave: the person themselves, or whoever keeps their schedule."""
    if person_id != me.person_id:
        keeps_schedule_of(session, me, person_id)


def _acts_on_person(person: PersonRef, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    person_id = person_of(person, me)
    acts_on(session, me, person_id)
    return person_id


def _acts_on_person_id(person_id: uuid.UUID, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    acts_on(session, me, person_id)
    return person_id


def _keeps_schedule(person: PersonRef, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    person_id = person_of(person, me)
    keeps_schedule_of(session, me, person_id)
    return person_id


def _keeps_own_or_schedule(person: PersonRef, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    person_id = person_of(person, me)
    keeps_own_or_schedule_of(session, me, person_id)
    return person_id


def _self_only(what: str) -> Callable[[str, Principal], uuid.UUID]:
    def rule(person: PersonRef, me: CurrentPerson) -> uuid.UUID:
        person_id = person_of(person, me)
        if person_id != me.person_id:
            raise PermissionDenied(f"only the person themselves may change their {what}")
        return person_id

    return rule


# The person in the path `{person}` (an id or `me`), whom the caller may act on.
ActsOnPerson = Annotated[uuid.UUID, Depends(_acts_on_person)]
# The person in the path `{person_id}`, whom the caller may act on.
ActsOnPersonId = Annotated[uuid.UUID, Depends(_acts_on_person_id)]
# The person in the path `{person}`, whose schedule the caller keeps.
SchedulesPerson = Annotated[uuid.UUID, Depends(_keeps_schedule)]
# The person in the path `{person}`: the caller themselves, or one whose schedule they keep.
SelfOrSchedulesPerson = Annotated[uuid.UUID, Depends(_keeps_own_or_schedule)]
# The person in the path `{person}`, who must be the caller: quiet hours and DND are their own.
OwnQuietHours = Annotated[uuid.UUID, Depends(_self_only("quiet hours"))]
OwnDnd = Annotated[uuid.UUID, Depends(_self_only("do-not-disturb"))]


def _self_or_hr(person_id: uuid.UUID, me: CurrentPerson) -> uuid.UUID:
    if person_id != me.person_id:
        require_role(me, "hr", "admin")
    return person_id


# The person in the path `{person_id}`: the caller, or anyone for HR and admin (who keep the
# working-time records).
SelfOrHr = Annotated[uuid.UUID, Depends(_self_or_hr)]


def reads_rest_records(
    session: Session, me: Principal, *, person_id: uuid.UUID | None, group_id: uuid.UUID | None
) -> None:
    """The rest ledger and rest periods: one's own; HR and admin anyone's, and a group's (one they may
    act on)."""
    if group_id is not None or person_id is None or person_id != me.person_id:
        require_role(me, "hr", "admin")
    if group_id is not None:
        manages_group(session, me, group_id)


# Only an admin grants or removes these: each gives rights over others or over the whole installation.
PRIVILEGED = frozenset({"admin", "hr", "evaluator", "it", "integration"})


def grants_roles(me: Principal, changed: Iterable[str]) -> None:
    """Roles given to or taken from a person: HR changes the others, only an admin the privileged ones."""
    if PRIVILEGED.intersection(changed) and not me.has("admin"):
        raise PermissionDenied("only an admin may grant or remove the roles hr, admin, integration, evaluator or it")


def issues_token_for(me: Principal, person_id: uuid.UUID) -> None:
    """A token for oneself; only an admin issues one for another person."""
    if person_id != me.person_id and not me.has("admin"):
        raise PermissionDenied("only an admin may issue tokens for another person")


# Groups -----------------------------------------------------------------------------------------


def manages_group(session: Session, me: Principal, group_id: uuid.UUID) -> None:
    """Admin and HR on any group; a manager on the groups they manage and their subgroups."""
    require_group_rights(session=session, principal=me, group_id=group_id)


def _manages_group(group_id: uuid.UUID, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    manages_group(session, me, group_id)
    return group_id


def _keeps_group(group_id: uuid.UUID, session: SessionDep, me: CurrentPerson) -> uuid.UUID:
    require_role(me, "manager", "hr", "admin")
    manages_group(session, me, group_id)
    return group_id


# The group in the path `{group_id}`, which the caller manages (admin and HR: any group).
ManagesGroup = Annotated[uuid.UUID, Depends(_manages_group)]
# The same, for a caller who must also be a keeper (manager, HR, admin) by role.
KeepsGroup = Annotated[uuid.UUID, Depends(_keeps_group)]


# Scopes: what a listing shows, and which rows a caller reaches --------------------------------


def device_owner(me: Principal) -> uuid.UUID | None:
    """Whose devices the caller changes by id: an admin's reach is every device (None); everyone
    else reaches their own, and another's device is not found."""
    return None if me.has("admin") else me.person_id


def register_within(session: Session, me: Principal) -> set[uuid.UUID] | None:
    """The groups whose people the register shows the caller: all of them (None) for admin, HR and
    device administration; a manager sees the groups they manage and their subgroups."""
    return None if me.has("admin", "hr", "it") else managed_groups(session=session, principal=me)


def sends_as_manager_to(session: Session, me: Principal) -> set[uuid.UUID] | None:
    """The groups a caller may send to as a manager: every group (None) for an admin, else the
    groups they manage and their subgroups (none for a caller who manages nothing)."""
    return None if me.has("admin") else managed_groups(session=session, principal=me)


def sees_members_of(session: Session, me: Principal, group_id: uuid.UUID) -> bool:
    """A group's member list: for those who may act on the group (admin, HR, its managers) and for
    its own members."""
    return can_act_on_group(session=session, principal=me, group_id=group_id) or group_id in directory.group_ids_of(
        session=session, person_id=me.person_id
    )
