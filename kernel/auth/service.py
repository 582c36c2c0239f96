"""Authentication and authorisation.

Who a request is comes from an `IdentityProvider`: bearer tokens issued by Vila (stored as SHA-256
digests). A web sign-in ends in such a token too, of the kind `web` and short-lived: through the
region's OIDC provider (`kernel/auth/oidc.py`), or by exchanging a pasted API token, whose secret
the browser then never keeps. Routes never see how a person signed in.
What a principal may do is decided here, in one place.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.auth.models import ApiToken, TokenKind
from kernel.directory import service as directory
from kernel.directory.models import ROLES, GroupMember, Person
from kernel.errors import InvalidInput, NotFound, PermissionDenied

TOKEN_PREFIX = "vila_"  # noqa: S105 - a public prefix, not a secret
WEB_SESSION_TOKEN = "web (oidc)"  # noqa: S105 - the name of the token behind an OIDC sign-in, not a secret
WEB_EXCHANGE_TOKEN = "web (token)"  # noqa: S105 - the name of a web session a pasted token was exchanged for


@dataclass(frozen=True)
class Principal:
    """An authenticated person and the roles this credential carries."""

    person_id: uuid.UUID
    name: str
    email: str
    roles: frozenset[str]
    method: str = "token"
    token_id: uuid.UUID | None = None
    language: str = "sv"
    _cache: dict[str, object] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        return self.email

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class IdentityProvider(Protocol):
    def authenticate(self, *, session: Session, credential: str, now: datetime) -> Principal | None:
        """Return the principal for this credential, or None when it is not one of ours or not valid."""
        ...


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    *,
    session: Session,
    person: Person,
    now: datetime,
    name: str = "api",
    roles: Iterable[str] | None = None,
    ttl: timedelta = timedelta(days=90),
    kind: TokenKind = "api",
    parent_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and only its digest is stored."""
    scope = sorted(set(roles)) if roles is not None else None
    if scope is not None:
        unknown = [r for r in scope if r not in ROLES]
        if unknown:
            raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
        lacking = [r for r in scope if r not in person.roles]
        if lacking:
            raise InvalidInput(f"{person.email} does not have the role(s) {', '.join(lacking)}")
    if ttl <= timedelta(0):
        raise InvalidInput("a token's lifetime must be positive")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=person.id,
        name=name,
        digest=digest(secret),
        prefix=secret[:12],
        roles=scope,
        created_at=now,
        expires_at=now + ttl,
        kind=kind,
        parent_id=parent_id,
    )
    session.add(token)
    session.flush()
    return token, secret


def bounded_roles(*, creator: Principal, person: Person, requested: Iterable[str] | None) -> list[str] | None:
    """The roles of a token that `creator` issues for `person`: never one the creating credential does
    not carry itself (the person's other roles do not count). For oneself the default is exactly the
    credential's roles. An admin issuing another person's token may name any of that person's roles
    (an admin may grant any role anyway); without a list that token follows the person's roles."""
    if person.id == creator.person_id:
        if requested is None:
            return [r for r in ROLES if r in creator.roles]
        beyond = sorted(set(requested) - creator.roles)
        if beyond:
            raise PermissionDenied(
                f"a token cannot carry more than the credential that creates it, which lacks {', '.join(beyond)}"
            )
        return sorted(set(requested))
    if not creator.has("admin"):
        raise PermissionDenied("only an admin may issue tokens for another person")
    return sorted(set(requested)) if requested is not None else None


def issue_web_session(
    *,
    session: Session,
    person: Person,
    roles: Iterable[str],
    now: datetime,
    ttl: timedelta,
    name: str = WEB_SESSION_TOKEN,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A web session: a token of its own for the browser's cookie, with the given roles, ended by
    logout. Exchanged for a pasted token (`parent`), it never outlives that token and is revoked with it."""
    if parent is not None:
        ttl = min(ttl, parent.expires_at - now)
    return issue_token(
        session=session,
        person=person,
        now=now,
        name=name,
        roles=roles,
        ttl=ttl,
        kind="web",
        parent_id=parent.id if parent is not None else None,
    )


def exchange_for_web_session(
    *, session: Session, principal: Principal, now: datetime, ttl: timedelta
) -> tuple[ApiToken, str]:
    """A pasted credential, already authenticated, becomes a web session with the same roles."""
    person = session.get(Person, principal.person_id)
    if person is None:
        raise NotFound("the person behind this token is gone")
    parent = session.get(ApiToken, principal.token_id) if principal.token_id is not None else None
    return issue_web_session(
        session=session,
        person=person,
        roles=principal.roles,
        now=now,
        ttl=ttl,
        name=WEB_EXCHANGE_TOKEN,
        parent=parent,
    )


class BearerTokenProvider:
    def authenticate(self, *, session: Session, credential: str, now: datetime) -> Principal | None:
        if not credential.startswith(TOKEN_PREFIX):
            return None
        token = session.scalar(select(ApiToken).where(ApiToken.digest == digest(credential)))
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            return None
        person = session.get(Person, token.person_id)
        if person is None or not person.active:
            return None
        roles = set(person.roles)
        if token.roles is not None:
            roles &= set(token.roles)
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
            token.last_used_at = now  # coarse, so reads do not write on every request
        return Principal(
            person_id=person.id,
            name=person.name,
            email=person.email,
            roles=frozenset(roles),
            token_id=token.id,
            language=person.language,
        )


def revoke_token(*, session: Session, token_id: uuid.UUID, by: Principal, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.person_id != by.person_id and not by.has("admin")):
        raise NotFound(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
    # Web sessions exchanged for this token end with it.
    session.execute(
        update(ApiToken)
        .where(ApiToken.parent_id == token.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return token


def end_web_session(*, session: Session, secret: str, now: datetime) -> ApiToken | None:
    """Revoke the token behind a web sign-in (only those: an API token is not ended by a logout)."""
    token = session.scalar(select(ApiToken).where(ApiToken.digest == digest(secret)))
    if token is None or token.kind != "web" or token.revoked_at is not None:
        return None
    token.revoked_at = now
    session.flush()
    return token


def list_tokens(*, session: Session, person_id: uuid.UUID) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.person_id == person_id).order_by(ApiToken.created_at.desc())
    return list(session.scalars(stmt).all())


# Authorisation ----------------------------------------------------------------------------------


def require_role(principal: Principal, *roles: str) -> None:
    if not principal.has(*roles):
        raise PermissionDenied(
            f"this needs the role {' or '.join(roles)}; you have {', '.join(sorted(principal.roles)) or 'none'}"
        )


def managed_groups(*, session: Session, principal: Principal) -> set[uuid.UUID]:
    """The groups a manager acts on: those they manage and every subgroup. Cached per request."""
    if not principal.has("manager"):
        return set()
    cached = principal._cache.get("managed")
    if cached is None:
        cached = directory.managed_group_ids(session=session, person_id=principal.person_id)
        principal._cache["managed"] = cached
    return cached if isinstance(cached, set) else set()


def can_act_on_group(*, session: Session, principal: Principal, group_id: uuid.UUID) -> bool:
    if principal.has("admin", "hr"):
        return True
    return group_id in managed_groups(session=session, principal=principal)


def require_group_rights(*, session: Session, principal: Principal, group_id: uuid.UUID) -> None:
    if not can_act_on_group(session=session, principal=principal, group_id=group_id):
        raise PermissionDenied("you may act only on the groups you manage and their subgroups")


def can_act_on_person(*, session: Session, principal: Principal, person_id: uuid.UUID) -> bool:
    """Yourself; admin and HR on anyone; a manager on members of the groups they manage."""
    if person_id == principal.person_id or principal.has("admin", "hr"):
        return True
    scope = managed_groups(session=session, principal=principal)
    if not scope:
        return False
    hit = session.scalar(
        select(GroupMember.person_id)
        .where(GroupMember.person_id == person_id, GroupMember.group_id.in_(scope))
        .limit(1)
    )
    return hit is not None


def require_administers_all(*, session: Session, principal: Principal, person_ids: Iterable[uuid.UUID]) -> None:
    """Group membership changes reach only people the actor already administers: a manager cannot
    pull another unit's person into their own group and so gain rights over them."""
    if principal.has("admin", "hr"):
        return
    wanted = set(person_ids) - {principal.person_id}
    if not wanted:
        return
    scope = managed_groups(session=session, principal=principal)
    within: set[uuid.UUID] = set()
    if scope:
        within = set(
            session.scalars(
                select(GroupMember.person_id).where(GroupMember.person_id.in_(wanted), GroupMember.group_id.in_(scope))
            ).all()
        )
    outside = sorted(str(p) for p in wanted - within)
    if outside:
        raise PermissionDenied(
            f"you may change the membership only of people in the groups you manage; not in them: {', '.join(outside)}",
            details={"person_ids": outside},
        )


def require_may_administer(*, principal: Principal, person: Person) -> None:
    """HR keeps the register but does not act on admins: only an admin changes an admin's roles or
    details, sets their `external_id` (the key an OIDC sign-in is matched on) or deactivates them."""
    if "admin" in person.roles and not principal.has("admin"):
        raise PermissionDenied("only an admin may change or deactivate an admin")


def require_person_rights(*, session: Session, principal: Principal, person_id: uuid.UUID) -> None:
    if not can_act_on_person(session=session, principal=principal, person_id=person_id):
        if principal.has("manager"):
            raise PermissionDenied("this person is not in a group you manage")
        raise PermissionDenied("staff may act only on themselves")
