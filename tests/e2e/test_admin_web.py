"""The admin pages in a real browser: people found by Swedish names with what comes from Entra ID
marked, groups as a tree, roles, tokens, the provisioning status after a SCIM sync, and the audit log."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready, shot
from tests.scim_helpers import entra_user

pytestmark = pytest.mark.e2e


def _integration_token(served: Served) -> str:
    with served.api("admin") as api:
        account = api.post(
            "/api/v1/people",
            json={"name": "Entra ID", "email": f"scim-{uuid.uuid4().hex[:6]}@exempel.se", "roles": ["integration"]},
        )
        assert account.status_code == 201, account.text
        issued = api.post("/api/v1/tokens", json={"name": "scim", "person_id": account.json()["id"]})
        assert issued.status_code == 201, issued.text
        return str(issued.json()["token"])


def test_admin_sees_people_groups_provisioning_and_audit(page: Page, served: Served) -> None:
    token = _integration_token(served)
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=served.base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as scim:
        created = scim.post(
            "/scim/v2/Users", json=entra_user(f"asa.{tag}@region.se", given="Åsa", family=f"Åberg{tag}")
        )
        assert created.status_code == 201, created.text
        top_body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": f"Medicin {tag}", "externalId": f"med-{tag}"}  # fmt: skip
        top = scim.post("/scim/v2/Groups", json=top_body)
        child = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                             "urn:vila:params:scim:schemas:extension:vila:2.0:Group"],
                 "displayName": f"Avd 12 {tag}", "members": [{"value": created.json()["id"]}],
                 "urn:vila:params:scim:schemas:extension:vila:2.0:Group": {"parent": top.json()["id"]}}  # fmt: skip
        assert scim.post("/scim/v2/Groups", json=child).status_code == 201
        refused = scim.post("/scim/v2/Users", json=entra_user(f"asa.{tag}@region.se"))
        assert refused.status_code == 409

    login(page, served, "admin")
    expect(page.get_by_role("link", name="Administration").first).to_be_visible()
    ready(page, "/admin/people", served)
    page.get_by_label("Sök namn eller e-post").fill(f"åberg{tag}")
    page.keyboard.press("Enter")
    expect(page.locator("#people-count")).to_have_text("1 personer")
    row = page.locator("#people tbody tr")
    expect(row).to_contain_text(f"Åsa Åberg{tag}")
    expect(row).to_contain_text("sjuksköterska")
    expect(row.locator(".provisioned").first).to_be_visible()
    shot(page, "admin-people")

    ready(page, "/admin/groups", served)
    nested = page.locator("#group-tree li", has_text=f"Medicin {tag}").locator("li", has_text=f"Avd 12 {tag}")
    expect(nested).to_contain_text("1 medlemmar")
    shot(page, "admin-groups")

    ready(page, "/admin/roles", served)
    expect(page.locator("#roles")).to_contain_text("Integration: endast provisionering via SCIM")
    ready(page, "/admin/tokens", served)
    expect(page.locator("#tokens")).to_contain_text("Entra ID")

    ready(page, "/admin/provisioning", served)
    # In the reader's language and zone, never a machine time: "2 december 2026 12:00".
    expect(page.locator("#last-sync")).to_have_text(re.compile(r"^\d{1,2} [a-zåäö]+ \d{4} \d\d:\d\d$"))
    expect(page.locator("#provisioning-errors")).to_contain_text("uniqueness")
    shot(page, "admin-provisioning")

    ready(page, "/admin/audit", served)
    page.get_by_label("Händelse (början)").fill("scim.group")
    page.get_by_role("button", name="Sök").click()
    expect(page).to_have_url(re.compile(r"action=scim\.group"))
    expect(page.locator("#audit tbody tr").first).to_contain_text("scim.group")
    expect(page.locator("#audit tbody")).not_to_contain_text("scim.person")
    shot(page, "admin-audit")

    # English is there too.
    page.goto(served.base + "/language/en")
    ready(page, "/admin/people", served)
    expect(page.get_by_role("heading", name="People")).to_be_visible()


def test_staff_and_managers_do_not_see_the_admin_pages(page: Page, served: Served) -> None:
    login(page, served, "manager")
    response = page.goto(served.base + "/admin/people")
    assert response is not None and response.status == 403
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
