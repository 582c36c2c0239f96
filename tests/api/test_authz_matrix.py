"""The authorization matrix, generated from the OpenAPI: every operation × caller (admin, HR,
manager, staff, union, evaluator, IT, anonymous) × target (own unit, another unit). Nothing
outside a rule answers 2xx, nothing answers 5xx, every operation has a rule, and the table in
docs/security.md is the one the rules give."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.directory.models import Group
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts
from tools import authz_matrix as matrix

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_every_operation_has_a_rule(app: FastAPI) -> None:
    ops = matrix.operations(app.openapi())
    assert [op for op in ops if op not in matrix.RULES] == [], "deny by default: give each new operation a rule"
    assert [op for op in matrix.RULES if op not in ops] == [], "a rule for an operation that no longer exists"


def test_the_table_in_docs_security_is_current(app: FastAPI) -> None:
    assert matrix.current_block(DOC.read_text()) == matrix.render(app.openapi()), (
        "run python -m tools.authz_matrix --write docs/security.md"
    )


def _side(client: TestClient, facts: Facts, make: Factory, admin: Actor, group: Group, boss: Actor) -> matrix.Side:
    """A nurse of `group` with a token, a device, a shift and leave; a roster and a message of the group."""
    nurse = make.actor(groups=[group], name=f"Sköterska {group.name}")
    device = facts.device(nurse.person)
    start = facts.clock.now()
    facts.shift(nurse.person, start, start + timedelta(hours=8))
    shifts = client.get(f"/api/v1/people/{nurse.id}/shifts", headers=admin.headers).json()
    leave = client.post(
        f"/api/v1/people/{nurse.id}/leave",
        headers=admin.headers,
        json={"kind": "vacation", "start": "2026-12-24T08:00:00Z", "end": "2026-12-26T08:00:00Z"},
    )
    roster = client.post(
        "/api/v1/rosters",
        headers=admin.headers,
        json={"group_id": str(group.id), "name": "Linje", "role": f"Jour {group.name}", "kind": "jour"},
    )
    message = client.post(
        "/api/v1/messages",
        headers=boss.headers,
        json={"title": "Hej", "body": "Info", "audience": {"groups": [str(group.id)]}},
    )
    assert (leave.status_code, roster.status_code, message.status_code) == (201, 201, 202)
    tokens = client.get("/api/v1/tokens", headers=nurse.headers).json()
    return matrix.Side(
        group=group.id,
        person=nurse.id,
        token_id=uuid.UUID(tokens[0]["id"]),
        device_id=device.id,
        shift_id=uuid.UUID(shifts[0]["id"]),
        leave_id=uuid.UUID(leave.json()["id"]),
        roster_id=uuid.UUID(roster.json()["id"]),
        message_id=uuid.UUID(message.json()["message_id"]),
    )


def test_nothing_outside_a_rule_succeeds_and_nothing_fails_on_the_server(
    app: FastAPI, client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    own_unit, other_unit = make.group("Egen enhet"), make.group("Annan enhet")
    admin = make.actor(roles=["staff", "admin"])
    actors = {
        "admin": admin,
        "hr": make.actor(roles=["staff", "hr"], groups=[own_unit]),
        "manager": make.actor(roles=["staff", "manager"], manages=[own_unit], groups=[own_unit]),
        "staff": make.actor(groups=[own_unit]),
        "union": make.actor(roles=["staff", "union"], groups=[own_unit]),
        "evaluator": make.actor(roles=["staff", "evaluator"], groups=[own_unit]),
        "it": make.actor(roles=["staff", "it"], groups=[own_unit]),
    }
    facts = Facts(session_factory, clock)
    other_boss = make.actor(roles=["staff", "manager"], manages=[other_unit])
    sides = {
        "own": _side(client, facts, make, admin, own_unit, actors["manager"]),
        "other": _side(client, facts, make, admin, other_unit, other_boss),
    }
    policy = client.post(
        "/api/v1/policies",
        headers=admin.headers,
        json={"name": "Regel", "effective_from": "2026-01-01T00:00:00Z", "approval_note": "Beslut"},
    )
    assert policy.status_code == 201, policy.text

    refusals: dict[str, str] = {}

    def call(method: str, url: str, headers: dict[str, str], body: Any) -> int:
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            r = client.request(method, url, headers=headers, json=body)
        else:
            r = client.request(method, url, headers=headers)
        if r.status_code == 422 and headers.get("Authorization") == f"Bearer {admin.token}":
            refusals[f"{method} {url}"] = r.text[:160]
        return r.status_code

    observed = matrix.run(
        call,
        app.openapi(),
        sides,
        {c: a.token for c, a in actors.items()},
        {},
        "2026-11-24T08:00:00Z",
        uuid.UUID(policy.json()["id"]),
        "ingen-pilot",
    )
    server_errors = sorted(k for k, status in observed.items() if status >= 500)
    beyond = sorted(
        (op, caller, target, status)
        for (op, caller, target), status in observed.items()
        if 200 <= status < 300 and caller not in getattr(matrix.RULES[op], target)
    )
    print(f"{len(observed)} calls:", dict(sorted(Counter(observed.values()).items())))
    print("what the admin had refused (422):", *sorted(f"{k}: {v}" for k, v in refusals.items()), sep="\n  ")
    assert server_errors == []
    assert beyond == [], "\n".join(map(str, beyond))


# Where a permission rule may be written: the modules that name them. A route declares its rule
# (`me: HrOrAdmin`, `person_id: ActsOnPerson`) or calls one by name; it does not inline one.
_RULE_HOMES = {"api/permissions.py", "api/routes/pilot_access.py", "api/routes/fleet/deps.py"}
# A role test in a route body (`me.has("admin")`) is a rule or a scope written in place.
_INLINE = re.compile(
    r"raise PermissionDenied\(|\brequire_role\(|\brequire_person_rights\(|\brequire_group_rights\("
    r"|\bmanaged_groups\(|\bcan_act_on_(?:person|group)\(|\b(?:me|principal)\.has\("
)


def test_routes_declare_their_permission_rules_instead_of_writing_them() -> None:
    root = DOC.parents[1]
    inline = {
        str(path.relative_to(root)): found
        for path in sorted((root / "api").rglob("*.py"))
        if str(path.relative_to(root)) not in _RULE_HOMES
        if (found := _INLINE.findall(path.read_text(encoding="utf-8")))
    }
    # Authentication (the CSRF header, the integration token's reach) and /metrics, guarded by its
    # own bearer token for Prometheus, are not rules about a person's roles. The web pages apply
    # their tables of pages and tabs, each row declaring its roles.
    assert inline == {
        "api/deps.py": ["raise PermissionDenied(", "principal.has(", "raise PermissionDenied("],
        "api/routes/metrics.py": ["raise PermissionDenied("],
        "api/web/admin_pages.py": ["principal.has("] * 2,
        "api/web/pages.py": ["principal.has("],
    }, "name the rule in api/permissions.py and declare it on the route"
