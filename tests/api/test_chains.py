"""Escalation chains as data: steps (a person, the unit's manager by e-mail too, an on-call role)
fire in order until someone acknowledges, never reach anyone twice, are versioned like policies,
and the run shows on the message, step by step, with reasons."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.api.test_escalation import NIGHT, ROLE, Night
from tests.factories import Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic
from tools.standins.smtp import SmtpStandIn


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with SmtpStandIn() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpStandIn) -> Settings:
    return settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port})


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(mail_settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(mail_settings, clock=clock, waker=NullWaker(), push=push[0])


@pytest.fixture
def night(client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Night:
    return Night(client, make, Facts(session_factory, clock), clock)


def test_a_chain_escalates_step_by_step_and_shows_its_run(
    client: TestClient,
    night: Night,
    smtp: SmtpStandIn,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    # The unit's manager works a late shift tonight (at rest, the manager's step would be held).
    Facts(session_factory, clock).shift(night.boss.person, NIGHT - timedelta(hours=6), NIGHT + timedelta(hours=2))
    chain = {
        "name": "Akuten natt",
        "steps": [
            {"who": "person", "person_id": str(night.bo.id), "after_minutes": 2},
            {"who": "manager", "after_minutes": 3, "channel": "email"},
            {"who": "role", "role": ROLE, "after_minutes": 1},
        ],
    }
    assert client.post("/api/v1/escalation-chains", headers=night.anna.headers, json=chain).status_code == 403
    bad = {**chain, "steps": [{"who": "role", "after_minutes": 1}]}
    r = client.post("/api/v1/escalation-chains", headers=night.boss.headers, json=bad)
    assert r.status_code == 422 and "names the role" in r.json()["message"]
    r = client.post("/api/v1/escalation-chains", headers=night.boss.headers, json=chain)
    assert r.status_code == 201, r.text
    chain_id = r.json()["id"]
    body = {
        "title": "Akut: ring akuten",
        "body": "Patient behöver bakjour.",
        "priority": "urgent",
        "requires_ack": True,
        "escalation_chain_id": chain_id,
        "audience": {"roles": [ROLE]},
    }
    message_id = client.post("/api/v1/messages", headers=night.boss.headers, json=body).json()["message_id"]
    run_jobs(mail_settings, session_factory, clock, push[0])
    assert [night.name_of_token(r.token) for r in push[1].requests] == ["anna"]

    def minute(n: int) -> list[str]:
        push[1].requests.clear()
        clock.set(NIGHT + timedelta(minutes=n, seconds=5))
        run_periodic("notify.escalate", mail_settings, session_factory, clock, push[0])
        run_jobs(mail_settings, session_factory, clock, push[0])
        return [night.name_of_token(r.token) for r in push[1].requests]

    assert minute(1) == []  # step 1 waits its 2 minutes
    assert minute(2) == ["bo"]
    assert minute(4) == []
    assert minute(5) == ["boss"]  # the unit's manager: a push, and an e-mail
    assert [m.rcpt_tos for m in smtp.received] == [[night.boss.person.email]]
    assert minute(6) == []  # step 3: the role's holder, Anna, was tried already
    assert minute(30) == []  # the chain has run out
    run = client.get(f"/api/v1/messages/{message_id}/escalation", headers=night.boss.headers).json()
    assert [(s["step_no"], s["name"], s["decision"], s["channel"]) for s in run] == [
        (1, "Bo Berg", "deliver", "push"),
        (2, "Chef Chefsson", "deliver", "email"),
        (3, "Anna Andersson", "tried", "push"),
    ]
    assert run[0]["reasons"][0]["rule"] == "escalation"
    assert "2 min" in run[0]["reasons"][0]["sv"]
    assert run[2]["reasons"][0]["rule"] == "escalation_tried"
    assert client.get(f"/api/v1/messages/{message_id}/escalation", headers=night.bo.headers).status_code == 403


def test_an_acknowledgement_stops_the_chain_and_versions_apply_to_later_messages(
    client: TestClient,
    night: Night,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    first = {"name": "Kedja", "steps": [{"who": "person", "person_id": str(night.bo.id), "after_minutes": 1}]}
    chain_id = client.post("/api/v1/escalation-chains", headers=night.boss.headers, json=first).json()["id"]
    later = {
        "steps": [{"who": "person", "person_id": str(night.cia.id), "after_minutes": 1}],
        "effective_from": (NIGHT + timedelta(hours=1)).isoformat(),
        "note": "Cia tar över nätterna",
    }
    r = client.post(f"/api/v1/escalation-chains/{chain_id}/versions", headers=night.boss.headers, json=later)
    assert r.status_code == 201, r.text
    assert [v["version"] for v in r.json()["versions"]] == [1, 2]
    nobody = {"steps": [{"who": "person", "person_id": str(uuid.uuid4()), "after_minutes": 1}]}
    assert (
        client.post(
            f"/api/v1/escalation-chains/{chain_id}/versions", headers=night.boss.headers, json=nobody
        ).status_code
        == 422
    )

    def page(title: str) -> str:
        body = {
            "title": title,
            "body": "Ring.",
            "priority": "urgent",
            "requires_ack": True,
            "escalation_chain_id": chain_id,
            "audience": {"roles": [ROLE]},
        }
        r = client.post("/api/v1/messages", headers=night.boss.headers, json=body)
        assert r.status_code == 202, r.text
        message_id: str = r.json()["message_id"]
        return message_id

    acked = page("Första")
    assert client.post(f"/api/v1/inbox/{acked}/ack", headers=night.anna.headers).status_code == 204
    clock.set(NIGHT + timedelta(minutes=5))
    run_periodic("notify.escalate", mail_settings, session_factory, clock, push[0])
    assert client.get(f"/api/v1/messages/{acked}/escalation", headers=night.boss.headers).json() == []
    clock.set(NIGHT + timedelta(hours=2))  # version 2 is in force now
    second = page("Andra")
    clock.set(NIGHT + timedelta(hours=2, minutes=2))
    run_periodic("notify.escalate", mail_settings, session_factory, clock, push[0])
    run = client.get(f"/api/v1/messages/{second}/escalation", headers=night.boss.headers).json()
    assert [(s["name"], s["decision"]) for s in run] == [("Cia Carlsson", "hold")]  # at rest: held, with why
    unknown = {"title": "x", "body": "y", "priority": "urgent", "requires_ack": True, "audience": {"roles": [ROLE]}}
    r = client.post(
        "/api/v1/messages", headers=night.boss.headers, json={**unknown, "escalation_chain_id": str(uuid.uuid4())}
    )
    assert r.status_code == 404
    no_ack = {**unknown, "requires_ack": False, "escalation_chain_id": chain_id}
    assert client.post("/api/v1/messages", headers=night.boss.headers, json=no_ack).status_code == 422
