"""The database itself refuses a word outside Vila's closed vocabularies (a priority, platform,
provider, role, language or state that no code knows), on SQLite and on PostgreSQL, whichever
code writes the row; and the migration that adds those constraints goes down and up again."""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kernel import migrate
from kernel.db import Base, make_engine, make_session_factory, new_id
from kernel.directory.models import Person
from notify.models import Device, Message
from tests.conftest import START
from vila.cli import MODEL_MODULES

for module in MODEL_MODULES:  # every table a foreign key may name
    importlib.import_module(module)


def _person(language: str = "sv", roles: list[str] | None = None) -> Person:
    return Person(
        id=new_id(),
        name="Kim",
        email=f"kim.{uuid.uuid4().hex[:8]}@exempel.se",
        language=language,
        roles=roles or ["staff"],
        created_at=START,
        updated_at=START,
    )


def _device(owner: Person, platform: str = "android", provider: str = "fcm") -> Device:
    return Device(
        person_id=owner.id,
        name="Tjänstetelefon",
        platform=platform,
        provider=provider,
        token=f"token-{new_id().hex}",
        last_seen_at=START,
        created_at=START,
        updated_at=START,
    )


def _message(sender: Person, priority: str = "normal") -> Message:
    return Message(
        sender_id=sender.id,
        title="Personalmöte",
        body="Kl 14 i konferensrummet.",
        priority=priority,
        audience={"groups": []},
        audience_label="Akuten",
        sender_roles=["manager"],
        created_at=START,
    )


# the row with a known word, the same row with an unknown word (each given an owner), the constraint
CASES: dict[str, tuple[Callable[[Person], Any], Callable[[Person], Any], str]] = {
    "priority": (lambda p: _message(p), lambda p: _message(p, priority="critical"), "ck_message_priority"),
    "platform": (lambda p: _device(p), lambda p: _device(p, platform="windows"), "ck_device_platform"),
    "provider": (lambda p: _device(p), lambda p: _device(p, provider="sms"), "ck_device_provider"),
    "role": (
        lambda p: _person(roles=["staff", "union"]),
        lambda p: _person(roles=["staff", "boss"]),
        "ck_person_roles",
    ),
    "language": (lambda p: _person(language="en"), lambda p: _person(language="de"), "ck_person_language"),
}


def _owner(factory: sessionmaker[Session]) -> Person:
    with factory() as session:
        owner = _person(roles=["manager"])
        session.add(owner)
        session.commit()
        session.refresh(owner)
        session.expunge(owner)
        return owner


def _write(factory: sessionmaker[Session], row: Any) -> None:
    with factory() as session:
        session.add(row)
        session.commit()


@pytest.mark.parametrize("word", sorted(CASES))
def test_an_unknown_word_is_refused_by_the_database(db_url: str, word: str) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        owner = _owner(factory)
        known, unknown, constraint = CASES[word]
        _write(factory, known(owner))  # the same row with a word Vila knows is stored
        with pytest.raises(IntegrityError, match=constraint):
            _write(factory, unknown(owner))
    finally:
        engine.dispose()


def _vocabulary_checks() -> dict[tuple[str, str], set[str]]:
    """(table, constraint name) -> the words the models' CHECK allows, for every closed vocabulary."""
    found: dict[tuple[str, str], set[str]] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            name = str(constraint.name)
            if isinstance(constraint, CheckConstraint) and name.removeprefix(f"ck_{table.name}_") in table.c:
                found[(table.name, name)] = set(re.findall(r"""['"]([a-z_]+)['"]""", str(constraint.sqltext)))
    return found


def test_the_database_holds_the_models_vocabularies(db_url: str) -> None:
    """A word added to a Literal without a migration that lets the database take it fails here."""
    checks = _vocabulary_checks()
    assert {("message", "ck_message_priority"), ("device", "ck_device_platform"), ("person", "ck_person_roles")} <= set(
        checks
    )
    engine = make_engine(db_url)
    try:
        found = inspect(engine)
        in_database = {
            (table, str(c["name"])): c["sqltext"]
            for table in {t for t, _ in checks}
            for c in found.get_check_constraints(table)
        }
    finally:
        engine.dispose()
    for key, words in checks.items():
        assert key in in_database, f"{key} is in the models but not in the database"
        missing = {w for w in words - {"null"} if f"'{w}'" not in in_database[key] and f'"{w}"' not in in_database[key]}
        assert not missing, f"{key}: the database does not take {sorted(missing)}"


def test_the_migration_goes_down_and_up_again(db_url: str) -> None:
    def stored(priority: str) -> bool:
        engine = make_engine(db_url)
        factory = make_session_factory(engine)
        try:
            owner = _owner(factory)
            with factory() as session:
                session.add(_message(owner, priority=priority))
                try:
                    session.flush()
                except IntegrityError:
                    return False
                session.rollback()  # leave nothing behind that a constraint would refuse
                return True
        finally:
            engine.dispose()

    assert not stored("critical")
    migrate.downgrade(db_url, "0018_scim")
    assert stored("critical")  # before this revision the database took any word
    migrate.upgrade(db_url)
    assert not stored("critical")
    assert stored("emergency")
