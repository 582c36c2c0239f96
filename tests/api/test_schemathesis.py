"""Schemathesis over the whole OpenAPI: generated requests to every operation, as an admin and as
staff, and no answer is a server error. CI runs this short one (a few examples per operation);
`VILA_SCHEMATHESIS_EXAMPLES` makes it long, and docs/security.md gives a long run's figures."""

from __future__ import annotations

import os
from collections import Counter

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Factory

EXAMPLES = int(os.environ.get("VILA_SCHEMATHESIS_EXAMPLES", "3"))
ROLES = (("staff", "admin"), ("staff",))


def test_no_operation_answers_a_server_error(app: FastAPI, make: Factory) -> None:
    unit = make.group("Enhet")
    tokens = [make.actor(roles=list(roles), groups=[unit]).token for roles in ROLES]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(), token=st.sampled_from(tokens))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case, token: str) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        check()
    print(f"{operations} operations, {sum(statuses.values())} calls:", dict(sorted(statuses.items())))
    assert operations > 100
    assert errors == [], "\n".join(sorted(set(errors)))
