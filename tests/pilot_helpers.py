"""Helpers for the pilot tests: a pilot set up through the REST API as HR would, and answers sent
as each participant would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from kernel.clock import ManualClock
from kernel.directory.models import Group
from tests.factories import Actor, Factory

_codes = itertools.count(1)
ITEMS = ("reachability", "stress", "coordination", "information", "disturbance")


@dataclass
class PilotSetup:
    code: str
    unit: Group
    hr: Actor
    evaluator: Actor
    manager: Actor
    people: dict[str, list[Actor]]  # profession -> participants of the pilot arm
    comparison: list[Actor]
    kinds: dict[str, str]  # person id -> phone | tablet
    surveys: dict[str, str] = field(default_factory=dict)  # wave -> survey id

    @property
    def everyone(self) -> list[Actor]:
        return [a for group in self.people.values() for a in group] + self.comparison


def make_pilot(
    client: TestClient,
    make: Factory,
    clock: ManualClock,
    *,
    professions: dict[str, int],
    comparison: int = 0,
    tablets_first: bool = False,
) -> PilotSetup:
    """A running pilot: the baseline wave open now for two days, the final wave ten days on."""
    unit = make.group("Akutmottagningen")
    hr = make.actor(roles=["staff", "hr"], name="Hanna HR")
    evaluator = make.actor(roles=["staff", "evaluator"], name="Ulla Utvärderare")
    manager = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
    people = {
        p: [make.actor(groups=[unit], profession=p, name=f"{p.title()} {i}") for i in range(n)]
        for p, n in professions.items()
    }
    others = [make.actor(groups=[unit], profession="sjuksköterska", name=f"Jämför {i}") for i in range(comparison)]
    now = clock.now()
    code = f"pilot-{next(_codes)}"
    body = {
        "code": code,
        "name": "Arbetstelefoner på akuten",
        "start_date": (now - timedelta(days=1)).date().isoformat(),
        "end_date": (now + timedelta(days=13)).date().isoformat(),
        "status": "running",
        "open_questions": ["Vem ansvarar för lånetelefonerna?"],
        "surveys": [
            _window("baseline", now - timedelta(hours=1), now + timedelta(days=2)),
            _window("final", now + timedelta(days=10), now + timedelta(days=12)),
        ],
    }
    created = client.post("/api/v1/pilots", headers=hr.headers, json=body)
    assert created.status_code == 201, created.text
    kinds: dict[str, str] = {}
    enrol: list[dict[str, Any]] = []
    for group in people.values():
        for i, actor in enumerate(group):
            kind = "tablet" if (i % 2 == 0) == tablets_first else "phone"
            kinds[str(actor.id)] = kind
            enrol.append({"person_id": str(actor.id), "device_kind": kind})
    enrol += [{"person_id": str(a.id), "arm": "comparison"} for a in others]
    enrolled = client.post(f"/api/v1/pilots/{code}/participants", headers=hr.headers, json={"participants": enrol})
    assert enrolled.status_code == 200, enrolled.text
    setup = PilotSetup(code, unit, hr, evaluator, manager, people, others, kinds)
    setup.surveys = {s["wave"]: s["id"] for s in created.json()["surveys"]}
    return setup


def _window(wave: str, opens: datetime, closes: datetime) -> dict[str, str]:
    return {"wave": wave, "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}


def answer(client: TestClient, actor: Actor, survey_id: str, values: dict[str, int], text: str | None = None) -> Any:
    body: dict[str, Any] = dict(values)
    if text is not None:
        body["free_text"] = text
    return client.post(f"/api/v1/surveys/{survey_id}/answers", headers=actor.headers, json=body)


def same(value: int) -> dict[str, int]:
    return dict.fromkeys(ITEMS, value)
