"""Routes commit once, through the unit of work; authentication keeps its own short transaction."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.auth.models import ApiToken
from kernel.clock import ManualClock
from kernel.directory.models import Group
from tests.factories import Factory

ROOT = Path(__file__).resolve().parents[2]


def test_no_route_commits_its_session_or_enqueues_a_job_itself() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "api").rglob("*.py"))
        if (found := re.findall(r"\benqueue\(", path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "follow-up jobs come from events (kernel/uow.py FOLLOW_UPS), not from routes"
    commits = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / "api").rglob("*.py"))
        if (n := path.read_text(encoding="utf-8").count("session.commit()"))
    }
    assert commits == {}, "a route (REST, SCIM or a web page) ends with uow.commit()"


def test_a_refused_write_commits_nothing_of_its_own_but_the_token_is_still_stamped(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    hr = make.actor(roles=["staff", "hr"])
    clock.advance(timedelta(hours=1))
    bad = {"name": "Nytt team", "kind": "team", "parent_id": "00000000-0000-7000-8000-000000000000"}
    r = client.post("/api/v1/groups", headers=hr.headers, json=bad)
    assert r.status_code in (404, 422), r.text
    with session_factory() as s:
        assert s.scalars(select(Group).where(Group.name == "Nytt team")).first() is None
        stamp = s.scalars(select(ApiToken.last_used_at).where(ApiToken.person_id == hr.id)).one()
    assert stamp == clock.now(), "who used which token, when, is kept even for a refused request"
