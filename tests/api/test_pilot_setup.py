"""Setting up a pilot: who may do what (a matrix, deny by default), enrolment, survey windows that
cannot move once open, reminders that respect rest time, and professions set by HR in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from notify.models import Message, Recipient
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts
from tests.pilot_helpers import answer, make_pilot, same


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["staff"], {"list": 403, "costs": 403, "remind": 403, "free_text": 403, "enrol": 403}),
        (["staff", "manager"], {"list": 403, "costs": 403, "remind": 403, "free_text": 403, "enrol": 403}),
        (["staff", "union"], {"list": 403, "costs": 403, "remind": 403, "free_text": 403, "enrol": 403}),
        (["staff", "hr"], {"list": 200, "costs": 200, "remind": 200, "free_text": 403, "enrol": 200}),
        (["staff", "admin"], {"list": 200, "costs": 200, "remind": 200, "free_text": 403, "enrol": 200}),
        (["staff", "evaluator"], {"list": 200, "costs": 200, "remind": 200, "free_text": 200, "enrol": 403}),
    ],
)
def test_who_may_do_what(
    client: TestClient, make: Factory, clock: ManualClock, roles: list[str], expected: dict[str, int]
) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    who = make.actor(roles=roles)
    base = f"/api/v1/pilots/{setup.code}"
    newcomer = make.actor(profession="läkare")
    got = {
        "list": client.get("/api/v1/pilots", headers=who.headers).status_code,
        "costs": client.put(f"{base}/costs", headers=who.headers, json={"inputs": {}}).status_code,
        "remind": client.post(f"{base}/reminders", headers=who.headers).status_code,
        "free_text": client.get(f"{base}/free-text.csv", headers=who.headers).status_code,
        "enrol": client.post(
            f"{base}/participants",
            headers=who.headers,
            json={"participants": [{"person_id": str(newcomer.id), "device_kind": "phone"}]},
        ).status_code,
    }
    assert got == expected


def test_enrolment_says_what_is_wrong(client: TestClient, make: Factory, clock: ManualClock) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    url = f"/api/v1/pilots/{setup.code}/participants"
    nobody = make.actor(profession=None)
    cases = {
        "needs a device_kind": [{"person_id": str(nobody.id)}],
        "no pilot device": [{"person_id": str(nobody.id), "arm": "comparison", "device_kind": "phone"}],
        "no profession": [{"person_id": str(nobody.id), "device_kind": "phone"}],
        "unknown person": [{"person_id": "00000000-0000-4000-8000-000000000000", "device_kind": "phone"}],
    }
    for words, participants in cases.items():
        r = client.post(url, headers=setup.hr.headers, json={"participants": participants})
        assert r.status_code == 422 and words in r.json()["message"], (words, r.text)
    given = client.post(
        url,
        headers=setup.hr.headers,
        json={"participants": [{"person_id": str(nobody.id), "device_kind": "tablet", "profession": "läkare"}]},
    )
    assert given.status_code == 200 and given.json()[0]["profession"] == "läkare"
    listed = client.get(url, headers=setup.hr.headers).json()
    assert len(listed) == 6 and {p["unit_name"] for p in listed} >= {"Akutmottagningen"}


def test_a_wave_keeps_its_window_once_it_has_opened(client: TestClient, make: Factory, clock: ManualClock) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    now = clock.now()
    later = {"opens_at": (now + timedelta(days=20)).isoformat(), "closes_at": (now + timedelta(days=22)).isoformat()}
    moved = client.put(f"/api/v1/pilots/{setup.code}/surveys/final", headers=setup.hr.headers, json=later)
    assert moved.status_code == 200 and moved.json()["opens_at"].startswith(
        (now + timedelta(days=20)).date().isoformat()
    )
    refused = client.put(f"/api/v1/pilots/{setup.code}/surveys/baseline", headers=setup.hr.headers, json=later)
    assert refused.status_code == 409 and "already opened" in refused.json()["message"]
    backwards = {"opens_at": later["closes_at"], "closes_at": later["opens_at"]}
    bad = client.put(f"/api/v1/pilots/{setup.code}/surveys/midpoint", headers=setup.hr.headers, json=backwards)
    assert bad.status_code == 422
    mid = client.put(
        f"/api/v1/pilots/{setup.code}/surveys/midpoint",
        headers=setup.hr.headers,
        json={"opens_at": (now + timedelta(days=5)).isoformat(), "closes_at": (now + timedelta(days=6)).isoformat()},
    )
    assert mid.status_code == 200 and mid.json()["invited"] == 5, "everyone enrolled is invited to a new wave"


def test_reminders_go_to_those_who_have_not_answered_and_respect_rest(
    client: TestClient, make: Factory, clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    nurses = setup.people["sjuksköterska"]
    facts = Facts(session_factory, clock)
    now = clock.now()
    facts.shift(nurses[1].person, now - timedelta(hours=2), now + timedelta(hours=6))  # at work: reached now
    for nurse in nurses[2:]:  # off duty now, at work tomorrow morning
        facts.shift(nurse.person, now + timedelta(hours=21), now + timedelta(hours=29))
    assert answer(client, nurses[0], setup.surveys["baseline"], same(3)).status_code == 201
    sent = client.post(f"/api/v1/pilots/{setup.code}/reminders", headers=setup.evaluator.headers)
    assert sent.status_code == 200 and sent.json() == {"reminded": 4, "not_yet": 0}
    with session_factory() as session:
        rows = session.execute(
            select(Message, Recipient)
            .join(Recipient, Recipient.message_id == Message.id)
            .where(Message.category == "pilot_survey")
        ).all()
    assert len(rows) == 4
    decided = {r.person_id: r.decision for _, r in rows}
    assert nurses[0].id not in decided, "who has answered is not reminded"
    assert decided[nurses[1].id] == "deliver", "in working time it arrives, never interrupting (info)"
    assert {decided[n.id] for n in nurses[2:]} == {"hold"}, "off duty it waits for their next shift"
    assert {r.release_at for _, r in rows if r.person_id in {n.id for n in nurses[2:]}} == {now + timedelta(hours=21)}
    assert all(m.priority == "info" and m.sender_id == r.person_id for m, r in rows), "no HR or manager sender"
    again = client.post(f"/api/v1/pilots/{setup.code}/reminders", headers=setup.hr.headers)
    assert again.json() == {"reminded": 0, "not_yet": 4}, "at most one reminder every few days"
    clock.advance(timedelta(days=1, hours=23))
    later = client.post(f"/api/v1/pilots/{setup.code}/reminders", headers=setup.hr.headers)
    assert later.json() == {"reminded": 0, "not_yet": 4}
    clock.advance(timedelta(days=1))
    closed = client.post(f"/api/v1/pilots/{setup.code}/reminders", headers=setup.hr.headers)
    assert closed.json() == {"reminded": 0, "not_yet": 0}, "the wave has closed: no more reminders"


def _assign(client: TestClient, who: Actor, profession: str | None, people: list[Actor]) -> Response:
    body = {"profession": profession, "person_ids": [str(p.id) for p in people]}
    return client.post("/api/v1/professions/assign", headers=who.headers, json=body)


def test_hr_sets_one_profession_for_many_people_audited(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr"])
    people = [make.actor(profession="undersköterska") for _ in range(3)] + [make.actor(profession="fysioterapeut")]
    r = _assign(client, hr, "fysioterapeut", people)
    assert r.status_code == 200 and r.json() == {"changed": 3, "unchanged": 1}
    for p in people:
        assert client.get(f"/api/v1/people/{p.id}", headers=hr.headers).json()["profession"] == "fysioterapeut"
    audit = client.get("/api/v1/audit", headers=hr.headers, params={"limit": 100}).json()["items"]
    changes = [a for a in audit if a["action"] == "person.profession"]
    assert {a["target_id"] for a in changes} == {str(p.id) for p in people[:3]}
    assert all(a["before"] == {"profession": "undersköterska"} for a in changes)
    counts = client.get("/api/v1/professions", headers=hr.headers).json()
    assert {"profession": "fysioterapeut", "people": 4} in counts


def test_a_bulk_profession_change_is_all_or_nothing_and_for_hr(client: TestClient, make: Factory) -> None:
    hr, manager = make.actor(roles=["staff", "hr"]), make.actor(roles=["staff", "manager"])
    person = make.actor(profession="läkare")
    bad = client.post(
        "/api/v1/professions/assign",
        headers=hr.headers,
        json={"profession": "fysioterapeut", "person_ids": [str(person.id), "00000000-0000-4000-8000-000000000001"]},
    )
    assert bad.status_code == 422 and "unknown person" in bad.json()["message"]
    assert client.get(f"/api/v1/people/{person.id}", headers=hr.headers).json()["profession"] == "läkare"
    assert _assign(client, manager, "fysioterapeut", [person]).status_code == 403
    assert _assign(client, hr, "", [person]).status_code == 422, "an empty profession is no profession: send null"
