"""The e-mail channel against a real SMTP server on loopback (the aiosmtpd stand-in): held messages
and digests also as ONE e-mail at release time, never inside rest; bounces mark the address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.mail.models import EmailMessage
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic, workday
from tools.standins.smtp import SmtpStandIn


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with SmtpStandIn() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpStandIn) -> Settings:
    return settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_from": "vila@region.se"})


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(mail_settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(mail_settings, clock=clock, waker=NullWaker(), push=push[0])


class Unit:
    def __init__(self, make: Factory, facts: Facts, clock: ManualClock) -> None:
        self.unit = make.group("Vårdavdelning 7")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.it: Actor = make.actor(roles=["staff", "it"], name="Ivar IT")
        start, end = workday(clock)
        self.tomorrow = start + timedelta(days=1)
        self.off: list[Actor] = []
        for name in ("Eva Epost", "Per Push", "Stina Studs"):
            who = make.actor(groups=[self.unit], name=name)
            facts.shift(who.person, self.tomorrow, end + timedelta(days=1))  # off today, at work tomorrow
            facts.device(who.person)
            self.off.append(who)

    def send(self, client: TestClient, title: str) -> str:
        body = {"title": title, "body": f"{title}: se intranätet.", "audience": {"groups": [str(self.unit.id)]}}
        r = client.post("/api/v1/messages", headers=self.boss.headers, json=body)
        assert r.status_code == 202, r.text
        assert r.json()["counts"]["hold"] == 3
        message_id: str = r.json()["message_id"]
        return message_id


@pytest.fixture
def unit(make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Unit:
    return Unit(make, Facts(session_factory, clock), clock)


def test_held_messages_come_as_one_email_at_release_and_never_inside_rest(
    client: TestClient,
    unit: Unit,
    smtp: SmtpStandIn,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    eva, per, _ = unit.off
    r = client.put("/api/v1/people/me/email", headers=eva.headers, json={"enabled": True, "address": "eva@region.se"})
    assert r.status_code == 200, r.text
    assert r.json() == {"address": "eva@region.se", "enabled": True, "bounced_at": None, "bounce_reason": None}
    assert client.get("/api/v1/people/me/email", headers=per.headers).json()["enabled"] is False
    first, second = unit.send(client, "Personalmöte"), unit.send(client, "Utbildning i Saba Cloud")
    assert first != second
    # All through the evening and night (her rest), the release job runs and nothing is mailed.
    for hours in (1, 4, 8, 12, 16, 19):
        clock.set(unit.tomorrow - timedelta(hours=20) + timedelta(hours=hours))
        run_periodic("notify.release_holds", mail_settings, session_factory, clock, push[0])
        run_jobs(mail_settings, session_factory, clock, push[0])
    assert smtp.received == []
    assert push[1].requests == []
    # At release: one digest push per person, and ONE e-mail to the one who chose it.
    clock.set(unit.tomorrow + timedelta(minutes=1))
    run_periodic("notify.release_holds", mail_settings, session_factory, clock, push[0])
    run_jobs(mail_settings, session_factory, clock, push[0])
    assert len(push[1].requests) == 3
    [mail] = smtp.received
    assert mail.rcpt_tos == ["eva@region.se"]
    assert mail.message["From"] == "vila@region.se"
    assert mail.message["Subject"] == "Vila: 2 meddelanden medan du var ledig"
    text = mail.message.get_body().get_content()  # type: ignore[union-attr]
    assert text.index("Personalmöte") < text.index("Utbildning i Saba Cloud")
    assert "Från Chef Chefsson till Vårdavdelning 7" in text
    with session_factory() as s:
        [row] = s.scalars(select(EmailMessage)).all()
        assert (row.state, row.address, sorted(row.message_ids)) == ("sent", "eva@region.se", sorted([first, second]))
    # Run again: nothing more is mailed.
    run_periodic("notify.release_holds", mail_settings, session_factory, clock, push[0])
    run_jobs(mail_settings, session_factory, clock, push[0])
    assert len(smtp.received) == 1


def test_bounces_mark_the_address_and_stop_the_mail(
    client: TestClient,
    unit: Unit,
    smtp: SmtpStandIn,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    eva, per, stina = unit.off
    smtp.refuse("per@gone.example")  # refused at once by the server
    smtp.bounce_later("stina@gone.example")  # accepted, then a delivery status notification
    for who, address in ((eva, "eva@region.se"), (per, "per@gone.example"), (stina, "stina@gone.example")):
        r = client.put("/api/v1/people/me/email", headers=who.headers, json={"enabled": True, "address": address})
        assert r.status_code == 200, r.text
    unit.send(client, "Teams-möte")
    clock.set(unit.tomorrow + timedelta(minutes=1))
    run_periodic("notify.release_holds", mail_settings, session_factory, clock, push[0])
    run_jobs(mail_settings, session_factory, clock, push[0])
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == ["eva@region.se", "stina@gone.example"]
    refused = client.get("/api/v1/people/me/email", headers=per.headers).json()
    assert refused["bounced_at"] is not None and "550" in refused["bounce_reason"]
    # The stand-in's bounce report, through the intake.
    [dsn] = smtp.dsns
    headers = {**unit.it.headers, "Content-Type": "message/rfc822"}
    assert client.post("/api/v1/email/bounces", headers=unit.boss.headers, content=dsn).status_code == 403
    assert client.post("/api/v1/email/bounces", headers=headers, content=b"hello").status_code == 422
    r = client.post("/api/v1/email/bounces", headers=headers, content=dsn)
    assert r.status_code == 200, r.text
    assert r.json() == {"bounced": ["stina@gone.example"], "people_marked": 1}
    assert client.get("/api/v1/people/me/email", headers=stina.headers).json()["bounced_at"] is not None
    # The next release mails only the address that works.
    day_after = unit.tomorrow + timedelta(days=1)
    for who in unit.off:
        Facts(session_factory, clock).shift(who.person, day_after, day_after + timedelta(hours=8))
    clock.set(unit.tomorrow + timedelta(hours=10))  # after work: held until the next shift
    unit.send(client, "Personalmöte")
    clock.set(day_after + timedelta(minutes=1))
    run_periodic("notify.release_holds", mail_settings, session_factory, clock, push[0])
    run_jobs(mail_settings, session_factory, clock, push[0])
    assert [m.rcpt_tos for m in smtp.received[2:]] == [["eva@region.se"]]
    # Giving the address again clears the mark.
    r = client.put("/api/v1/people/me/email", headers=per.headers, json={"enabled": True, "address": "per@region.se"})
    assert r.json()["bounced_at"] is None
