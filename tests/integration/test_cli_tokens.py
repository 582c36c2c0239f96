"""`vila token create` knows every role the API knows, and the token it prints works for that role."""

from __future__ import annotations

from typing import get_args

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from kernel.vocabulary import ROLES, Role
from notify.outbox import NullWaker
from tests.factories import Factory
from vila.cli import main


def test_the_cli_offers_exactly_the_roles_of_the_api() -> None:
    role_option = next(p for p in main.commands["token"].commands["create"].params if p.name == "roles")  # type: ignore[attr-defined]
    assert tuple(role_option.type.choices) == ROLES == get_args(Role)


@pytest.mark.parametrize("role", ["union", "it"])
def test_a_token_for_a_union_representative_or_it_is_issued_and_works(
    role: str, make: Factory, db_url: str, settings: Settings, clock: ManualClock
) -> None:
    person = make.person()
    result = CliRunner().invoke(
        main,
        ["token", "create", "--person", person.email, "--role", role],
        env={"VILA_DATABASE_URL": db_url, "VILA_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    with TestClient(create_app(settings, clock=clock, waker=NullWaker())) as client:
        me = client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200, me.text
    assert role in me.json()["roles"]
