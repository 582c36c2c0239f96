"""Recall: held deliveries are cancelled at once and never pushed, pushed ones are replaced by a
"recalled" notice under the same collapse identifier, the message leaves every inbox, and the
recall is audited. Also when the recall races the release job (two sessions on PostgreSQL)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.audit.models import AuditRecord
from kernel.auth.service import Principal
from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.jobs import ReleasePeople
from kernel.settings import Settings
from notify import recall
from notify.models import Delivery, Digest
from notify.outbox import JobContext, NullWaker
from notify.push import PushClient
from notify.release import release_people
from notify.transports.base import PushRequest, RecordingTransport
from tests.conftest import BROKER_NAMESPACE, START
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Ward:
    def __init__(self, make: Factory, facts: Facts, clock: ManualClock, off_duty: int = 1) -> None:
        self.unit = make.group("Avdelning 12")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.admin: Actor = make.actor(roles=["staff", "admin"], name="Ada Admin")
        self.on_shift = make.actor(groups=[self.unit], name="Anna Andersson")
        start, end = workday(clock)
        facts.shift(self.on_shift.person, start, end)
        facts.device(self.on_shift.person)
        self.off: list[Actor] = []
        for n in range(off_duty):
            who = make.actor(groups=[self.unit], name=f"Ledig {n:02d}")
            facts.shift(who.person, start + timedelta(days=1), end + timedelta(days=1))
            facts.device(who.person)
            self.off.append(who)
        self.tomorrow = start + timedelta(days=1)

    def message(self, title: str) -> dict[str, object]:
        return {"title": title, "body": "Skickat av misstag.", "audience": {"groups": [str(self.unit.id)]}}


def _send(client: TestClient, ward: Ward, title: str) -> str:
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=ward.message(title))
    assert r.status_code == 202, r.text
    message_id: str = r.json()["message_id"]
    return message_id


def test_recall_cancels_holds_withdraws_pushes_and_leaves_the_inbox(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    ward = Ward(make, Facts(session_factory, clock), clock)
    message_id = _send(client, ward, "Fel grupp")
    run_jobs(settings, session_factory, clock, push[0])
    assert [r.title for r in push[1].requests] == ["Fel grupp"]  # Anna now; the off-duty person is held
    shown = push[1].requests[0]
    push[1].requests.clear()

    stranger = make.actor(groups=[ward.unit], name="Inte avsändaren")
    assert client.post(f"/api/v1/messages/{message_id}/recall", headers=stranger.headers).status_code == 403
    r = client.post(f"/api/v1/messages/{message_id}/recall", headers=ward.boss.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["cancelled"], r.json()["to_withdraw"], r.json()["already"]) == (1, 1, False)
    # Cancelled at once, before any job runs.
    with session_factory() as s:
        states = {d.person_id: d.state for d in s.scalars(select(Delivery))}
    assert states[ward.off[0].id] == "recalled"
    # The pushed notification is replaced by a recall notice under the same identifier.
    run_jobs(settings, session_factory, clock, push[0])
    [notice] = push[1].requests
    assert notice.kind == "recall"
    assert notice.title == "Återkallat: Fel grupp"
    assert notice.token == shown.token
    assert (notice.message_id, notice.collapse_key) == (shown.message_id, shown.collapse_key)
    # Gone from the inbox, and never pushed at release.
    inbox = client.get("/api/v1/inbox", headers=ward.on_shift.headers).json()
    assert [i["message_id"] for i in inbox["items"]] == []
    push[1].requests.clear()
    clock.set(ward.tomorrow + timedelta(minutes=5))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    assert status["message"]["recalled_at"] is not None
    assert (status["deliveries"]["recalled"], status["deliveries"]["withdrawn"]) == (1, 1)
    # An admin may recall too; a second recall changes nothing and says so.
    again = client.post(f"/api/v1/messages/{message_id}/recall", headers=ward.admin.headers)
    assert again.status_code == 200 and again.json()["already"] is True
    with session_factory() as s:
        audited = s.scalars(select(AuditRecord).where(AuditRecord.action == "message.recall")).all()
    assert [a.target_id for a in audited] == [message_id]
    assert client.post(f"/api/v1/messages/{uuid.uuid4()}/recall", headers=ward.boss.headers).status_code == 404


def test_a_recalled_message_leaves_the_digest_it_was_held_for(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    ward = Ward(make, Facts(session_factory, clock), clock)
    keep = [_send(client, ward, title) for title in ("Personalmöte", "Utbildning")]
    recalled = _send(client, ward, "Fel grupp")
    run_jobs(settings, session_factory, clock, push[0])
    assert client.post(f"/api/v1/messages/{recalled}/recall", headers=ward.boss.headers).status_code == 200
    push[1].requests.clear()
    clock.set(ward.tomorrow + timedelta(minutes=5))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    [digest] = [r for r in push[1].requests if r.token.startswith(f"fcm-{ward.off[0].id.hex}")]
    assert digest.kind == "digest" and digest.data["count"] == "2"
    assert set(_stands_for(session_factory, digest)) == set(keep)
    assert "Fel grupp" not in digest.title + digest.body


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url, pool_size=8)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_recall_racing_the_release_job_never_lets_a_held_delivery_out(
    pg_url: str, pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = ManualClock(START)
    settings = Settings(
        database_url=pg_url, data_dir=tmp_path, broker_url="", broker_namespace=BROKER_NAMESPACE, load_demo=False
    )
    ward = Ward(Factory(pg_factory, clock), Facts(pg_factory, clock), clock, off_duty=30)
    client_push, transport = recording_push()
    boss = Principal(
        person_id=ward.boss.id, name="Chef", email="chef@exempel.se", roles=frozenset({"staff", "manager"})
    )
    ctx = JobContext(settings=settings, session_factory=pg_factory, clock=clock, resources={"push": client_push})
    rng = random.Random(19)
    app = create_app(settings, clock=clock, waker=NullWaker(), push=client_push)
    try:
        with TestClient(app) as client:
            for round_no in range(8):
                clock.set(START + timedelta(minutes=round_no))
                kept = _send(client, ward, f"Behålls {round_no}")
                doomed = _send(client, ward, f"Återkallas {round_no}")
                run_jobs(settings, pg_factory, clock, client_push)
                transport.requests.clear()
                clock.set(ward.tomorrow + timedelta(minutes=round_no))
                barrier = threading.Barrier(2)
                errors: list[BaseException] = []

                def release(barrier: threading.Barrier = barrier, errors: list[BaseException] = errors) -> None:
                    try:
                        barrier.wait()
                        time.sleep(rng.random() * 0.02)
                        _release_now(ctx)
                    except BaseException as exc:  # pragma: no cover - reported below
                        errors.append(exc)

                def take_back(
                    message_id: str = doomed,
                    barrier: threading.Barrier = barrier,
                    errors: list[BaseException] = errors,
                ) -> None:
                    try:
                        barrier.wait()
                        time.sleep(rng.random() * 0.02)
                        with unit_of_work(pg_factory) as session:
                            recall.recall(
                                session=session, message_id=uuid.UUID(message_id), principal=boss, now=clock.now()
                            )
                    except BaseException as exc:  # pragma: no cover - reported below
                        errors.append(exc)

                threads = [threading.Thread(target=release), threading.Thread(target=take_back)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=60)
                assert errors == []
                run_jobs(settings, pg_factory, clock, client_push)
                _release_now(ctx)
                run_jobs(settings, pg_factory, clock, client_push)
                leaked = [
                    r
                    for r in transport.requests
                    if r.kind != "recall" and (doomed == r.message_id or doomed in _stands_for(pg_factory, r))
                ]
                assert leaked == [], f"round {round_no}: a recalled message was pushed"
                pushed = [r for r in transport.requests if r.kind != "recall"]
                assert all(f"Återkallas {round_no}" not in r.title + r.body for r in pushed)
                # Every off-duty person still gets the message that was not recalled.
                reached = {
                    r.token for r in transport.requests if kept == r.message_id or kept in _stands_for(pg_factory, r)
                }
                assert len(reached) == len(ward.off), f"round {round_no}"
    finally:
        client_push.close()


def _stands_for(factory: sessionmaker[Session], request: PushRequest) -> list[str]:
    """The message ids a digest push stands for (its payload carries only the digest's id and count)."""
    if "digest_id" not in request.data:
        return []
    with factory() as session:
        return list(session.get_one(Digest, uuid.UUID(request.data["digest_id"])).message_ids)


def _release_now(ctx: JobContext) -> None:
    """The release of everyone with due holds, as its batch jobs run it, in this thread."""
    with ctx.session_factory() as session:
        due = session.scalars(
            select(Delivery.person_id)
            .where(Delivery.state == "held", Delivery.not_before <= ctx.clock.now())
            .distinct()
        ).all()
    if due:
        release_people(ctx, ReleasePeople(person_ids=tuple(p for p in due if p is not None)))
