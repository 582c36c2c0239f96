"""Requests as Microsoft Entra ID's provisioning service sends them (its documented payloads)."""

from __future__ import annotations

from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def entra_user(
    user_name: str,
    *,
    given: str = "Anna",
    family: str = "Åberg",
    external_id: str | None = None,
    title: str | None = "Sjuksköterska",
    department: str | None = "Akutmottagningen",
    employee_number: str | None = "E-10442",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id or user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "roles": [],
        ENTERPRISE: {"employeeNumber": employee_number, "department": department},
    }
    if title:
        body["title"] = title
    return body


def entra_group(name: str, *, external_id: str | None = None, members: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "schemas": [GROUP],
        "externalId": external_id or name.lower().replace(" ", "-"),
        "displayName": name,
        "members": [{"value": m} for m in members],
        "meta": {"resourceType": "Group"},
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}
