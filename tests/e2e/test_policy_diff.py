"""HR's policy history: the difference between two versions names the fields in words, shows times
in the reader's zone, and does not call the same list in another order a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready

pytestmark = pytest.mark.e2e


def test_the_same_roles_in_another_order_are_no_change(page: Page, served: Served) -> None:
    with served.api("hr") as api:
        made = api.post(
            "/api/v1/policies",
            json={
                "name": "Ordningsprov",
                "approval_note": "Första versionen",
                "effective_from": datetime.now(UTC).isoformat(),
                "override_roles": ["manager", "hr"],
            },
        )
        assert made.status_code == 201, made.text
        again = api.post(
            f"/api/v1/policies/{made.json()['id']}/versions",
            json={
                "override_roles": ["hr", "manager"],
                "weekly_rest_hours": 35,
                "effective_from": (datetime.now(UTC) + timedelta(days=2)).replace(hour=6, minute=0).isoformat(),
                "approval_note": "Samma roller i annan ordning, kortare veckovila",
            },
        )
        assert again.status_code == 201, again.text
    login(page, served, "hr")
    ready(page, "/policies", served)
    policy = page.locator('section.policy[data-policy="Ordningsprov"]')
    policy.get_by_text("Skillnad mot föregående version").click()
    changed = policy.locator(".diff [data-field]")
    expect(changed).to_have_count(2)
    expect(policy.locator('.diff [data-field="override_roles"]')).to_have_count(0)
    expect(policy.locator('.diff [data-field="weekly_rest_hours"]')).to_have_text("Veckovila (timmar): − 36 + 35")
    effective = policy.locator('.diff [data-field="effective_from"]')
    expect(effective).to_contain_text("Gäller från:")
    expect(effective).not_to_contain_text("T")
    # The editor offers the weekly rest too.
    expect(policy.get_by_label("Veckovila (timmar)")).to_have_value("35")
