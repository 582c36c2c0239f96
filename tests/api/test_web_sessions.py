"""A web sign-in is a short-lived session token of its own: the browser never keeps a pasted API
token, the session carries the same roles, lasts VILA_WEB_SESSION_HOURS at most (and never longer
than the token it was exchanged for), and ends with logout or with that token's revocation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.deps import SESSION_COOKIE, csrf_token
from api.main import create_app
from kernel.audit.models import AuditRecord
from kernel.auth.models import ApiToken
from kernel.auth.service import digest, issue_token
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Factory
from tests.web_login import form_nonce, log_in


def _token(session_factory: sessionmaker[Session], secret: str) -> ApiToken:
    with session_factory() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.digest == digest(secret)))
        assert token is not None
        return token


def test_a_pasted_token_becomes_a_web_session_of_its_own_with_the_same_roles(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    hr = make.person(roles=["staff", "hr"], name="Hedda HR")
    staff_only = make.token(hr, roles=["staff"])
    cookie = log_in(client, staff_only)
    web, pasted = _token(session_factory, cookie), _token(session_factory, staff_only)
    assert web.kind == "web" and web.parent_id == pasted.id and web.roles == ["staff"]
    assert web.expires_at - web.created_at == timedelta(hours=12)
    assert client.get("/dashboard").status_code == 403  # the pasted token's roles, not the person's
    with session_factory() as session:
        login = session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.login")).one()
        assert cookie not in str(login.after) and staff_only not in str(login.after)


def test_logout_ends_the_web_session_and_the_pasted_token_keeps_working(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    cookie = log_in(client, nurse.token)
    assert client.post("/logout", data={"csrf": csrf_token(cookie)}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401
    assert client.get("/api/v1/people/me", headers=nurse.headers).status_code == 200


def test_revoking_the_pasted_token_ends_the_web_sessions_made_from_it(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    cookie = log_in(client, nurse.token)
    assert client.get("/api/v1/people/me").status_code == 200
    pasted = next(t for t in client.get("/api/v1/tokens", headers=nurse.headers).json() if t["name"] != "web (token)")
    assert client.delete(f"/api/v1/tokens/{pasted['id']}", headers=nurse.headers).status_code == 200
    assert client.get("/api/v1/people/me").status_code == 401
    assert client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


def test_the_session_lasts_the_configured_hours_and_never_beyond_the_pasted_token(
    settings: Settings, clock: ManualClock, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    app = create_app(settings.model_copy(update={"web_session_hours": 2}), clock=clock, waker=NullWaker())
    nurse = make.actor()
    with unit_of_work(session_factory) as session:
        person = session.get(Person, nurse.id)
        assert person is not None
        _, short_lived = issue_token(session=session, person=person, now=clock.now(), ttl=timedelta(minutes=30))
    with TestClient(app) as client:
        r = client.post("/login", data={"token": nurse.token, "nonce": form_nonce(client)}, follow_redirects=False)
        assert "Max-Age=7200" in next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        long_session = client.cookies[SESSION_COOKIE]
        short_session = log_in(client, short_lived)
        web_long, web_short = _token(session_factory, long_session), _token(session_factory, short_session)
        assert web_long.expires_at - web_long.created_at == timedelta(hours=2)
        assert web_short.expires_at == _token(session_factory, short_lived).expires_at
        clock.advance(timedelta(minutes=31))
        assert client.get("/api/v1/people/me").status_code == 401  # the short session is over with its token
        client.cookies.clear()
        assert client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {long_session}"}).status_code == 200
        clock.advance(timedelta(hours=2))
        assert client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {long_session}"}).status_code == 401
