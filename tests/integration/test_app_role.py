"""PostgreSQL: the application's own role (VILA_DB_APP_ROLE) does all of the app's normal work, a send
through the API included, but cannot empty, rewrite or unprotect the audit log, because it owns no
table and was granted only SELECT and INSERT on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel import migrate
from kernel.app_role import AppRole, AppRoleError, secure
from kernel.audit import chain
from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory
from kernel.settings import Settings
from notify.models import Delivery
from notify.outbox import NullWaker
from tests.conftest import BACKENDS, BROKER_NAMESPACE, PG_ADMIN_URL
from tests.factories import Factory, audit_entry
from tests.messaging_helpers import Facts, recording_push, run_jobs, workday


@dataclass(frozen=True)
class Installation:
    owner_url: str  # the migration role: owns the tables
    app_url: str  # the app role
    role: str
    notes: list[str]


@pytest.fixture
def installation() -> Iterator[Installation]:
    """A database of its own, migrated by its owner with an app role that the migration creates."""
    if "postgresql" not in BACKENDS:
        pytest.skip("needs PostgreSQL (VILA_TEST_DATABASES lacks postgresql)")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    name, role, password = f"vila_role_{tag}", f"vila_app_{tag}", f"pw-{uuid.uuid4().hex}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner_url = make_url(PG_ADMIN_URL).set(database=name)
    app_url = owner_url.set(username=role, password=password)
    try:
        notes = migrate.upgrade(owner_url.render_as_string(hide_password=False), app_role=AppRole(role, password))
        yield Installation(
            owner_url.render_as_string(hide_password=False), app_url.render_as_string(hide_password=False), role, notes
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.fixture
def app_factory(installation: Installation) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(installation.app_url)
    yield make_session_factory(engine)
    engine.dispose()


def _refused(factory: sessionmaker[Session], statement: str) -> str:
    with factory() as session, pytest.raises(DBAPIError) as refused:
        session.execute(text(statement))
        session.commit()
    return str(refused.value.orig)


def test_the_migration_creates_a_plain_role_that_owns_nothing(installation: Installation) -> None:
    engine = make_engine(installation.owner_url)
    try:
        with engine.connect() as conn:
            attrs = conn.execute(
                text("SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = :r"),
                {"r": installation.role},
            ).one()
            owned = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE tableowner = :r"), {"r": installation.role})
    finally:
        engine.dispose()
    assert tuple(attrs) == (False, False, False, True) and owned == 0
    assert any("only read and append to audit_record" in note for note in installation.notes)


def test_the_app_role_cannot_empty_rewrite_or_unprotect_the_audit_log(
    installation: Installation, app_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with app_factory() as session:
        audit_entry(session, clock.now(), "app")
        session.commit()  # appending is what the app may do
    for statement in (
        "TRUNCATE audit_record",
        "UPDATE audit_record SET actor_label = 'someone else'",
        "DELETE FROM audit_record",
    ):
        assert "permission denied" in _refused(app_factory, statement), statement
    for statement in (
        "DROP TRIGGER audit_record_append_only ON audit_record",
        "ALTER TABLE audit_record DISABLE TRIGGER ALL",
        "ALTER TABLE audit_record OWNER TO CURRENT_USER",
        "DROP TABLE audit_record",
    ):
        assert "must be owner" in _refused(app_factory, statement), statement
    assert "permission denied" in _refused(app_factory, "SET session_replication_role = replica")
    assert "permission denied" in _refused(app_factory, "DELETE FROM alembic_version")
    with app_factory() as session:
        assert chain.verify(session).records == 1


def test_the_app_does_its_normal_work_as_the_app_role(
    installation: Installation, app_factory: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    """People, tokens, availability and a send through the API, its jobs and its pushes, all as the
    app role; the audit it leaves verifies."""
    settings = Settings(
        database_url=installation.app_url,
        data_dir=tmp_path,
        broker_url="",
        broker_namespace=BROKER_NAMESPACE,
        load_demo=False,
    )
    make, facts = Factory(app_factory, clock), Facts(app_factory, clock)
    unit = make.group("Akutmottagningen")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    nurse = make.actor(groups=[unit])
    start, end = workday(clock)
    facts.shift(nurse.person, start, end)
    facts.device(nurse.person, platform="android")
    push, transport = recording_push()
    app = create_app(settings, clock=clock, waker=NullWaker(), push=push)
    try:
        with TestClient(app) as client:
            sent = client.post(
                "/api/v1/messages",
                headers=boss.headers,
                json={"title": "Möte", "body": "Kl 14.", "audience": {"groups": [str(unit.id)]}},
            )
            assert sent.status_code == 202, sent.text
            assert client.post("/api/v1/tokens", headers=nurse.headers, json={"name": "mobil"}).status_code == 201
            dnd = client.post("/api/v1/people/me/dnd", headers=nurse.headers, json={"minutes": 30})
            assert dnd.status_code == 201
            run_jobs(settings, app_factory, clock, push)
            clock.advance(timedelta(minutes=1))
            run_jobs(settings, app_factory, clock, push)
    finally:
        push.close()
    assert len(transport.requests) == 1
    with app_factory() as session:
        assert session.scalars(select(Delivery.state)).all() == ["sent"]
        actions = set(session.scalars(select(AuditRecord.action)))
        assert {"message.send", "token.create"} <= actions
        verdict = chain.verify(session)
    assert verdict.intact and verdict.records >= 3


def test_tables_of_later_migrations_are_granted_and_reruns_are_safe(
    installation: Installation, app_factory: sessionmaker[Session]
) -> None:
    owner = make_engine(installation.owner_url)
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_feature (id serial PRIMARY KEY, note text)"))
    finally:
        owner.dispose()
    with app_factory() as session:
        session.execute(text("INSERT INTO later_feature (note) VALUES ('x')"))
        assert session.scalar(text("SELECT count(*) FROM later_feature")) == 1
        session.commit()
    again = migrate.upgrade(installation.owner_url, app_role=AppRole(installation.role))
    assert not any("created" in note for note in again)
    assert "permission denied" in _refused(app_factory, "TRUNCATE audit_record")


def test_an_unsafe_app_role_is_refused(installation: Installation) -> None:
    owner = make_engine(installation.owner_url)
    superuser = f"{installation.role}_su"
    try:
        with owner.begin() as conn:
            owner_name = str(conn.scalar(text("SELECT current_user")))
            with pytest.raises(AppRoleError, match="runs the migrations"):
                secure(conn, AppRole(owner_name))
            conn.execute(text(f'CREATE ROLE "{superuser}" SUPERUSER'))
            with pytest.raises(AppRoleError, match="superuser"):
                secure(conn, AppRole(superuser))
            conn.execute(text(f'DROP ROLE "{superuser}"'))
        with pytest.raises(ValueError, match="plain role name"):
            AppRole('vila"; DROP TABLE audit_record; --')
    finally:
        owner.dispose()
