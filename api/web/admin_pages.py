"""The admin pages: people (search, what comes from Entra ID), groups as a tree, roles, tokens,
the provisioning status and the audit log with filters. Read-only views rendered on the server;
changes go through the audited REST API and SCIM."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ClockDep, SessionDep, SettingsDep
from api.web.pages import _principal, _render
from kernel.audit import service as audit
from kernel.auth.models import ApiToken
from kernel.auth.service import Principal
from kernel.directory import provisioning
from kernel.directory import service as directory
from kernel.directory.fields import parse_fields
from kernel.directory.models import ROLES, Group, GroupMember, Person
from kernel.timezones import local_instant

router = APIRouter(include_in_schema=False)
ADMIN_ROLES = ("admin", "hr")
PAGE_SIZE = 50
TABS = (
    ("/admin/people", "admin.tab.people", ADMIN_ROLES),
    ("/admin/groups", "admin.tab.groups", ADMIN_ROLES),
    ("/admin/roles", "admin.tab.roles", ADMIN_ROLES),
    ("/admin/tokens", "admin.tab.tokens", ("admin",)),
    ("/admin/provisioning", "admin.tab.provisioning", ADMIN_ROLES),
    ("/admin/audit", "admin.tab.audit", ADMIN_ROLES),
)


def _gate(request: Request, session: Session, clock: Any, page: str) -> Principal | Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    roles = next(r for href, _, r in TABS if href == f"/{page}")
    if not principal.has(*roles):
        response = _render(request, "home.html", principal, "home")
        response.status_code = 403
        return response
    return principal


def _page(request: Request, template: str, principal: Principal, page: str, **extra: Any) -> Response:
    tabs = [(href, key) for href, key, roles in TABS if principal.has(*roles)]
    return _render(request, template, principal, page, tabs=tabs, **extra)


@router.get("/admin/people", response_class=HTMLResponse)
def people_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    q: Annotated[str, Query(max_length=100)] = "",
    active: Annotated[str, Query(pattern="^(true|false|all)$")] = "true",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    gate = _gate(request, session, clock, "admin/people")
    if not isinstance(gate, Principal):
        return gate
    people, total = directory.list_people(
        session=session,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        q=q.strip() or None,
        active=None if active == "all" else active == "true",
    )
    return _page(request, "admin_people.html", gate, "admin/people", people=people, total=total, q=q, active=active,
                 page_no=page, pages=max(1, -(-total // PAGE_SIZE)))  # fmt: skip


@router.get("/admin/groups", response_class=HTMLResponse)
def groups_page(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    gate = _gate(request, session, clock, "admin/groups")
    if not isinstance(gate, Principal):
        return gate
    groups = list(session.scalars(select(Group).order_by(Group.name)))
    counts = {
        g: int(n) for g, n in session.execute(select(GroupMember.group_id, func.count()).group_by(GroupMember.group_id))
    }
    children: dict[uuid.UUID | None, list[Group]] = defaultdict(list)
    ids = {g.id for g in groups}
    for g in groups:
        children[g.parent_id if g.parent_id in ids else None].append(g)

    def tree(parent: uuid.UUID | None, depth: int = 0) -> list[dict[str, Any]]:
        return [
            {"group": g, "members": counts.get(g.id, 0), "children": tree(g.id, depth + 1) if depth < 20 else []}
            for g in children.get(parent, [])
        ]

    return _page(request, "admin_groups.html", gate, "admin/groups", tree=tree(None))


@router.get("/admin/roles", response_class=HTMLResponse)
def roles_page(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    gate = _gate(request, session, clock, "admin/roles")
    if not isinstance(gate, Principal):
        return gate
    holders: dict[str, list[Person]] = {role: [] for role in ROLES}
    for person in session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.name)):
        for role in person.roles:
            if role in holders and role != "staff":
                holders[role].append(person)
    staff = session.scalar(select(func.count()).select_from(Person).where(Person.active.is_(True))) or 0
    return _page(request, "admin_roles.html", gate, "admin/roles", holders=holders, staff=staff, roles=ROLES)


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    gate = _gate(request, session, clock, "admin/tokens")
    if not isinstance(gate, Principal):
        return gate
    rows = session.execute(
        select(ApiToken, Person.name, Person.email)
        .join(Person, Person.id == ApiToken.person_id)
        .where(ApiToken.kind == "api")
        .order_by(ApiToken.created_at.desc())
        .limit(500)
    ).all()
    now = clock.now()
    tokens = [
        {"token": t, "name": name, "email": email,
         "state": "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "live"}
        for t, name, email in rows
    ]  # fmt: skip
    return _page(request, "admin_tokens.html", gate, "admin/tokens", tokens=tokens)


@router.get("/admin/provisioning", response_class=HTMLResponse)
def provisioning_page(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    gate = _gate(request, session, clock, "admin/provisioning")
    if not isinstance(gate, Principal):
        return gate
    status = provisioning.status(session=session, limit=50)
    endpoint = (settings.public_url or str(request.base_url)).rstrip("/") + "/scim/v2"
    fields = sorted(parse_fields(settings.provisioned_fields))
    return _page(request, "admin_provisioning.html", gate, "admin/provisioning", status=status, endpoint=endpoint,
                 fields=fields, separator=settings.scim_group_separator)  # fmt: skip


def _day(value: str, zone: str, *, end: bool = False) -> datetime | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    return local_instant(zone, day + timedelta(days=1) if end else day, time(0))


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=254)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    gate = _gate(request, session, clock, "admin/audit")
    if not isinstance(gate, Principal):
        return gate
    actor_id = None
    if actor.strip():
        who = directory.person_by_email(session=session, email=actor)
        actor_id = who.id if who else uuid.UUID(int=0)
    zone = "Europe/Stockholm"
    records, total = audit.query(
        session=session,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        actor_id=actor_id,
        action=action.strip() or None,
        since=_day(since, zone),
        until=_day(until, zone, end=True),
    )
    return _page(request, "admin_audit.html", gate, "admin/audit", records=records, total=total, action=action,
                 actor=actor, since=since, until=until, page_no=page, pages=max(1, -(-total // PAGE_SIZE)))  # fmt: skip
