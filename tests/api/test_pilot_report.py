"""The board's report on the demo region's pilot: every profession with its survey change, usage
and costs in the JSON (through the API and `vila pilot report`), costs that follow the inputs the
evaluator edits, and a PDF whose first page is not blank."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from pilot.costs.fleet import NO_FLEET
from tests.factories import Factory
from vila import demo
from vila.cli import main

PILOT = "mobil-2026"


@pytest.fixture
def evaluator(session_factory: sessionmaker[Session], clock: ManualClock, make: Factory) -> dict[str, str]:
    """The demo region with its finished pilot; the demo's evaluator signs in."""
    with unit_of_work(session_factory) as session:
        people: dict[str, Person] = demo.load(session=session, now=clock.now())
    return {"Authorization": f"Bearer {make.token(people['evaluator'], roles=['evaluator'])}"}


def _report(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get(f"/api/v1/pilots/{PILOT}/report", headers=headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_the_json_report_has_every_profession_with_survey_usage_and_costs(
    client: TestClient, evaluator: dict[str, str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _report(client, evaluator)
    assert data["pilot"]["participants"] == 20 and data["pilot"]["devices"] == {"phone": 10, "tablet": 10}
    professions = {p["profession"]: p for p in data["professions"]}
    assert set(professions) == {"sjuksköterska", "läkare", "undersköterska", "ambulanssjuksköterska"}
    for name, entry in professions.items():
        assert entry["participants"] == 5, name
        assert entry["survey"]["answers"]["baseline"] == 5 and entry["survey"]["answers"]["final"] == 5, name
        assert None not in entry["survey"]["change"].values(), name
        assert entry["usage"]["received_per_person_week"] > 0 and entry["usage"]["people"] == 5, name
        assert entry["costs"]["pilot"]["introduction_per_person"] > 0, name
        assert entry["costs"]["rollout"]["headcount"] > 0, name
    # Four of five doctors answered at the mid-point: no figure for them then.
    assert professions["läkare"]["survey"]["answers"]["midpoint"] is None
    assert professions["läkare"]["survey"]["midpoint"] is None
    # The usage comes from the messages, decisions and ledger the demo stored.
    assert data["groups"]["pilot"]["usage"]["contacts_per_person_week"] > 0
    assert data["groups"]["pilot"]["usage"]["overrides"] > 0
    # `vila pilot report` writes the same JSON.
    monkeypatch.setenv("VILA_DATABASE_URL", db_url)
    out = CliRunner().invoke(main, ["pilot", "report", PILOT, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [p["profession"] for p in json.loads(out.output)["professions"]] == [
        p["profession"] for p in data["professions"]
    ]
    listed = CliRunner().invoke(main, ["pilot", "list", "--json"])
    assert json.loads(listed.output)[0]["code"] == PILOT and json.loads(listed.output)[0]["participants"] == 20


def test_the_costs_follow_the_inputs_the_evaluator_edits(client: TestClient, evaluator: dict[str, str]) -> None:
    # The figures below are computed by hand from the inputs alone: the demo's fleet register, which
    # would replace the prices and subscriptions, is left out here (tests/api/test_fleet_pilot_costs.py).
    client.app.state.fleet_costs = NO_FLEET  # type: ignore[attr-defined]
    before = {p["profession"]: p for p in _report(client, evaluator)["professions"]}
    nurses = before["sjuksköterska"]
    assert nurses["devices"] == {"phone": 3, "tablet": 2}
    # Defaults (support 1.5 cases entered): phone 6 000 + 2 h x 420; tablet 5 500 + 840; the pool is one
    # phone and one tablet for 10 of each, so the nurses carry 3/10 and 2/10 of them.
    assert nurses["costs"]["pilot"]["introduction"] == 3 * 6840 + 2 * 6340 + 6000 * 3 / 10 + 5500 * 2 / 10 == 36100
    costs = client.get(f"/api/v1/pilots/{PILOT}/costs", headers=evaluator).json()
    assert costs["inputs"]["support_cases_per_device_per_year"] == "1.5"
    costs["inputs"]["phone_price"] = "7000"
    saved = client.put(f"/api/v1/pilots/{PILOT}/costs", headers=evaluator, json=costs)
    assert saved.status_code == 200, saved.text
    after = {p["profession"]: p for p in _report(client, evaluator)["professions"]}
    # 1 000 kr more per phone: three phones and 3/10 of the loaner phone.
    assert after["sjuksköterska"]["costs"]["pilot"]["introduction"] == 36100 + 3 * 1000 + 1000 * 3 / 10
    # And 1 000 / 3 years more depreciation per phone and year.
    grew = (
        after["sjuksköterska"]["costs"]["pilot"]["operation_per_year"] - nurses["costs"]["pilot"]["operation_per_year"]
    )
    assert Decimal(str(grew)) == Decimal("1100.00"), "3.3 phones x 1000 / 3"
    inputs = _report(client, evaluator)["costs"]["inputs"]
    assert inputs["phone_price"] == {"value": 7000.0, "source": "entered", "fleet_devices": None}
    assert inputs["tablet_price"]["source"] == "assumption"
    bad = client.put(f"/api/v1/pilots/{PILOT}/costs", headers=evaluator, json={"inputs": {"phone_price": "-5"}})
    assert bad.status_code == 422


def test_the_pdf_renders_a_page_that_is_not_blank(client: TestClient, evaluator: dict[str, str]) -> None:
    r = client.get(f"/api/v1/pilots/{PILOT}/report", params={"format": "pdf"}, headers=evaluator)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = pdfium.PdfDocument(r.content)
    assert len(pdf) >= 3
    bitmap = pdf[0].render(scale=1)
    pixels = bytes(bitmap.buffer)
    channels = len(pixels) // (bitmap.width * bitmap.height)
    dark = sum(1 for i in range(0, len(pixels), channels) if min(pixels[i : i + 3]) < 128)
    assert dark > bitmap.width * bitmap.height // 100, "at least 1 % of page 1 is ink"
    text = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert "Sammanfattning" in text and "Arbetstelefoner och surfplattor" in text
    bitmap.close()
    pdf.close()
    english = client.get(f"/api/v1/pilots/{PILOT}/report", params={"format": "html", "lang": "en"}, headers=evaluator)
    assert "Summary" in english.text and "Benefit per profession" in english.text
