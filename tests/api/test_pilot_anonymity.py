"""Survey answers are anonymous to managers and HR: "has answered" is kept apart from "what was
answered", no figure is shown for fewer than five answers (nor one that a difference of shown
figures would give away), results wait until the wave has closed, and free text leaves only as the
evaluator's export."""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import DateTime, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.spreadsheet import read_csv
from pilot.models import Answer
from tests.factories import Factory
from tests.pilot_helpers import ITEMS, PilotSetup, answer, make_pilot, same


def _answer_all(client: TestClient, setup: PilotSetup, wave: str = "baseline") -> dict[str, int]:
    """Everyone answers with a value of their own (1..5); returns person id -> the value given."""
    given: dict[str, int] = {}
    for n, actor in enumerate(setup.everyone):
        value = n % 5 + 1
        r = answer(client, actor, setup.surveys[wave], same(value), text=f"svar nummer {n:02d}")
        assert r.status_code == 201, r.text
        given[str(actor.id)] = value
    return given


def _report(client: TestClient, setup: PilotSetup, who: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/pilots/{setup.code}/report", headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


@pytest.fixture
def closed(client: TestClient, make: Factory, clock: ManualClock) -> PilotSetup:
    """Six nurses and four doctors answered the baseline, which has closed."""
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 6, "läkare": 4})
    _answer_all(client, setup)
    clock.advance(timedelta(days=3))
    return setup


def test_a_group_of_fewer_than_five_answers_shows_no_figure(client: TestClient, closed: PilotSetup) -> None:
    data = _report(client, closed, closed.evaluator)
    doctors = next(p for p in data["professions"] if p["profession"] == "läkare")
    assert doctors["survey"]["answers"]["baseline"] is None
    assert doctors["survey"]["baseline"] is None
    assert set(doctors["survey"]["change"].values()) == {None}
    # The CSV export leaves the doctors' cells empty too.
    csv = client.get(f"/api/v1/pilots/{closed.code}/survey-results.csv", headers=closed.hr.headers)
    assert csv.status_code == 200
    row = next(r for r in read_csv(csv.text) if r[:2] == ["baseline", "profession:läkare"])
    assert row[2:] == [""] * (1 + len(ITEMS))
    # And the HTML report says why instead of showing a number.
    page = client.get(f"/api/v1/pilots/{closed.code}/report", params={"format": "html"}, headers=closed.hr.headers)
    assert "färre än 5" in page.text


def test_no_difference_between_shown_groups_gives_away_fewer_than_five(client: TestClient, closed: PilotSetup) -> None:
    """Everyone (10) minus the nurses (6) would be the four doctors: the report must not show both.
    Checked by brute force over every sum and difference of the groups it shows."""
    data = _report(client, closed, closed.evaluator)
    members: dict[str, set[str]] = {
        "pilot": {str(a.id) for g in closed.people.values() for a in g},
        "device:phone": {p for p, k in closed.kinds.items() if k == "phone"},
        "device:tablet": {p for p, k in closed.kinds.items() if k == "tablet"},
    }
    for profession, actors in closed.people.items():
        members[f"profession:{profession}"] = {str(a.id) for a in actors}
    shown = [key for key, g in data["groups"].items() if g["survey"]["answers"]["baseline"] is not None]
    shown += [f"profession:{p['profession']}" for p in data["professions"] if p["survey"]["answers"]["baseline"]]
    assert shown, "some figures are shown"
    people = sorted(members["pilot"])
    for coefficients in itertools.product((-1, 0, 1), repeat=len(shown)):
        total = {p: sum(c for c, key in zip(coefficients, shown, strict=True) if p in members[key]) for p in people}
        if set(total.values()) <= {0, 1}:
            assert not 0 < sum(total.values()) < 5, (
                f"{dict(zip(shown, coefficients, strict=True))} isolates fewer than 5"
            )


def test_results_wait_until_the_wave_has_closed(client: TestClient, make: Factory, clock: ManualClock) -> None:
    """While answers still come in, before-and-after figures would show what the latest answer was."""
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 6})
    _answer_all(client, setup)
    data = _report(client, setup, setup.evaluator)
    assert data["groups"]["pilot"]["survey"]["answers"]["baseline"] is None
    assert data["surveys"][0]["answered"] == 6, "participation is counted while the wave is open"
    clock.advance(timedelta(days=3))
    assert _report(client, setup, setup.evaluator)["groups"]["pilot"]["survey"]["answers"]["baseline"] == 6


def test_a_manager_sees_nothing_of_the_pilot(client: TestClient, closed: PilotSetup) -> None:
    manager = closed.manager
    for path in (
        "/api/v1/pilots",
        f"/api/v1/pilots/{closed.code}",
        f"/api/v1/pilots/{closed.code}/report",
        f"/api/v1/pilots/{closed.code}/report?format=html",
        f"/api/v1/pilots/{closed.code}/survey-results.csv",
        f"/api/v1/pilots/{closed.code}/free-text.csv",
        f"/api/v1/pilots/{closed.code}/participants",
    ):
        assert client.get(path, headers=manager.headers).status_code == 403, path
    assert client.post(f"/api/v1/pilots/{closed.code}/reminders", headers=manager.headers).status_code == 403


def test_hr_cannot_link_an_answer_to_a_person(
    client: TestClient, closed: PilotSetup, session_factory: sessionmaker[Session]
) -> None:
    hr = closed.hr
    assert client.get(f"/api/v1/pilots/{closed.code}/free-text.csv", headers=hr.headers).status_code == 403
    # Who is in the pilot is HR's to know; nothing HR can read ties a person to an answer.
    exports = [
        client.get(f"/api/v1/pilots/{closed.code}/report", headers=hr.headers).text,
        client.get(f"/api/v1/pilots/{closed.code}/report?format=html", headers=hr.headers).text,
        client.get(f"/api/v1/pilots/{closed.code}/survey-results.csv", headers=hr.headers).text,
    ]
    for actor in closed.everyone:
        for text in exports:
            assert str(actor.id) not in text and actor.person.name not in text and actor.person.email not in text
    # The audit log keeps that a person answered (participation), never what.
    audit = client.get("/api/v1/audit", headers=hr.headers, params={"limit": 500})
    assert audit.status_code == 200, audit.text
    answered = [r for r in audit.json()["items"] if r["action"] == "pilot.survey.answer"]
    assert len(answered) == len(closed.everyone)
    assert all(r["before"] is None and r["after"] is None for r in answered)


def test_an_answer_row_carries_no_person_no_time_and_no_order(
    client: TestClient, closed: PilotSetup, session_factory: sessionmaker[Session]
) -> None:
    columns = inspect(Answer).columns
    assert {c.name for c in columns} == {"id", "survey_id", "arm", "profession", "device_kind", *ITEMS, "free_text"}
    assert not any(isinstance(c.type, DateTime) for c in columns), "no timestamp"
    assert {fk.column.table.name for c in columns for fk in c.foreign_keys} == {"pilot_survey"}, "no person"
    with session_factory() as session:
        rows = session.execute(select(Answer.id, Answer.free_text).order_by(Answer.id)).all()
    assert all(uuid.UUID(str(i)).version == 4 for i, _ in rows), "random ids, not time-ordered ones"
    by_id = [text for _, text in rows]
    assert by_id != sorted(by_id), "ordering by id does not give the order the answers came in"


def test_the_evaluator_exports_free_text_in_an_order_that_says_nothing(client: TestClient, closed: PilotSetup) -> None:
    r = client.get(f"/api/v1/pilots/{closed.code}/free-text.csv", headers=closed.evaluator.headers)
    assert r.status_code == 200, r.text
    rows = read_csv(r.text)
    assert rows[0] == ["wave", "arm", "text"]
    texts = [row[2] for row in rows[1:]]
    assert len(texts) == 10 and texts == sorted(texts)


def test_free_text_of_a_group_under_five_is_not_exported(client: TestClient, make: Factory, clock: ManualClock) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5}, comparison=3)
    _answer_all(client, setup)
    clock.advance(timedelta(days=3))
    r = client.get(f"/api/v1/pilots/{setup.code}/free-text.csv", headers=setup.evaluator.headers)
    arms = [row[1] for row in read_csv(r.text)[1:]]
    assert arms == ["pilot"] * 5, "the comparison group's three answers stay out"


def test_each_person_answers_once_even_when_sending_twice_at_once(
    client: TestClient, make: Factory, clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    nurse = setup.people["sjuksköterska"][0]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: answer(client, nurse, setup.surveys["baseline"], same(3)), range(4)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
    with session_factory() as session:
        assert len(session.scalars(select(Answer.id)).all()) == 1
    again = answer(client, nurse, setup.surveys["baseline"], same(4))
    assert again.status_code == 409 and "cannot be changed" in again.json()["message"]


def test_answers_must_be_whole_and_in_time(client: TestClient, make: Factory, clock: ManualClock) -> None:
    setup = make_pilot(client, make, clock, professions={"sjuksköterska": 5})
    nurse, outsider = setup.people["sjuksköterska"][0], make.actor()
    survey = setup.surveys["baseline"]
    partial = {k: 3 for k in ITEMS[:-1]}
    r = answer(client, nurse, survey, partial)
    assert r.status_code == 422 and "disturbance" in r.json()["message"]
    assert answer(client, nurse, survey, same(6)).status_code == 422
    assert answer(client, outsider, survey, same(3)).status_code == 404
    assert answer(client, nurse, setup.surveys["final"], same(3)).status_code == 409, "not open yet"
    clock.advance(timedelta(days=3))
    late = answer(client, nurse, survey, same(3))
    assert late.status_code == 409 and "closed" in late.json()["message"]
    mine = client.get("/api/v1/surveys/mine", headers=nurse.headers).json()
    assert mine == []
