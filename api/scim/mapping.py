"""Between SCIM resources (scim2-models) and Vila's people and groups.

User.userName                     person.email (Vila signs people in by it)
User.emails[type eq "work"]       person.email when userName is not an address
User.displayName / name           person.name (displayName, else "givenName familyName")
User.externalId                   person.external_id (Entra's objectId or HR number)
User.active                       person.active (false deactivates and offboards)
User.title                        person.profession (lower case: "sjuksköterska")
User.userType                     person.employment_type
enterprise employeeNumber         person.employee_number
enterprise department             person.department
enterprise manager.value          person.manager_id (the manager's SCIM id)
Group.displayName / externalId    group.name / group.external_id
Group.members[].value             the members' SCIM ids
Vila group extension parent       the parent group (its SCIM id or externalId)
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from scim2_models import (
    URN,
    Email,
    EnterpriseUser,
    Extension,
    Group,
    GroupMember,
    Manager,
    Meta,
    Mutability,
    Name,
    User,
)

from kernel.directory.models import Group as VilaGroupRow
from kernel.directory.models import Person
from kernel.errors import InvalidInput
from kernel.vocabulary import LANGUAGES

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_EXTENSION_SCHEMA = "urn:vila:params:scim:schemas:extension:vila:2.0:Group"


class VilaGroup(Extension):
    """Vila's group extension: where the group sits in the tree."""

    __schema__ = URN(GROUP_EXTENSION_SCHEMA)

    parent: Annotated[str | None, Mutability.read_write] = None
    """The parent group's SCIM id or externalId; empty for a top-level group."""


ScimUser = User[EnterpriseUser]
ScimGroup = Group[VilaGroup]  # type: ignore[type-arg]  # scim2-models types Group without parameters


def normalise_user_body(body: dict[str, Any]) -> dict[str, Any]:
    """Entra sends the manager as a bare id, or as {"value": id} without the $ref the model requires."""
    ext = body.get(ENTERPRISE_SCHEMA)
    if isinstance(ext, dict) and "manager" in ext:
        manager = ext["manager"]
        if isinstance(manager, str):
            ext["manager"] = {"value": manager, "$ref": f"../Users/{manager}"} if manager else None
        elif isinstance(manager, dict) and manager.get("value") and not manager.get("$ref"):
            manager["$ref"] = f"../Users/{manager['value']}"
    return body


def person_to_user(person: Person, *, base_url: str) -> ScimUser:
    given, _, family = person.name.partition(" ")
    user = ScimUser(
        id=str(person.id),
        external_id=person.external_id,
        user_name=person.email,
        display_name=person.name,
        name=Name(formatted=person.name, given_name=given or None, family_name=family or None),
        title=person.profession,
        user_type=person.employment_type,
        active=person.active,
        emails=[Email(value=person.email, type=Email.Type.work, primary=True)],
        meta=Meta(
            resource_type="User",
            created=person.created_at,
            last_modified=person.updated_at,
            location=f"{base_url}/Users/{person.id}",
        ),
    )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=person.employee_number,
        department=person.department,
        manager=Manager(value=str(person.manager_id), ref=f"{base_url}/Users/{person.manager_id}")
        if person.manager_id
        else None,
    )
    return user


def _work_email(user: ScimUser) -> str | None:
    emails = user.emails or []
    for email in emails:
        if email.type == Email.Type.work and email.value:
            return str(email.value)
    for email in emails:
        if email.primary and email.value:
            return str(email.value)
    return str(emails[0].value) if emails and emails[0].value else None


def _name(user: ScimUser) -> str | None:
    if user.display_name:
        return user.display_name
    if user.name is not None:
        parts = [user.name.given_name, user.name.family_name]
        joined = " ".join(p for p in parts if p)
        return joined or user.name.formatted
    return None


def _language(user: ScimUser) -> str | None:
    """Vila's language from preferredLanguage ("sv-SE", "en-US,en;q=0.9") or else locale; None when
    neither names one Vila speaks."""
    for tag in (user.preferred_language, user.locale):
        first = (tag or "").split(",")[0].split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if first in LANGUAGES:
            return first
    return None


def user_values(user: ScimUser) -> dict[str, Any]:
    """The provisioned values a SCIM user carries, by Vila field name."""
    user_name = (user.user_name or "").strip()
    email = user_name if "@" in user_name else _work_email(user)
    if not email:
        raise InvalidInput("userName must be an e-mail address, or the user must have a work e-mail")
    values: dict[str, Any] = {
        "email": email,
        "name": _name(user) or email.split("@")[0],
        "external_id": user.external_id,
        "active": user.active is not False,
        "profession": user.title,
        "employment_type": user.user_type,
        # Taken at creation only; absent, the installation's defaults apply.
        "timezone": user.timezone,
        "language": _language(user),
    }
    enterprise = user[EnterpriseUser]
    if enterprise is not None:
        values["employee_number"] = enterprise.employee_number
        values["department"] = enterprise.department
        manager = enterprise.manager.value if enterprise.manager else None
        values["manager_id"] = parse_id(manager, "manager") if manager else None
    else:
        values.update(employee_number=None, department=None, manager_id=None)
    return values


def parse_id(value: str | None, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not the id of a SCIM resource here") from None


def group_to_scim(group: VilaGroupRow, member_rows: list[tuple[uuid.UUID, str]], *, base_url: str) -> ScimGroup:
    scim = ScimGroup(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.name,
        members=[
            GroupMember(value=str(pid), ref=f"{base_url}/Users/{pid}", display=name, type="User")
            for pid, name in member_rows
        ]
        or None,
        meta=Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at,
            location=f"{base_url}/Groups/{group.id}",
        ),
    )
    scim[VilaGroup] = VilaGroup(parent=str(group.parent_id) if group.parent_id else None)
    return scim


def member_ids(group: ScimGroup) -> list[uuid.UUID]:
    return [parse_id(m.value, "member") for m in group.members or [] if m.value]


def parent_ref(group: ScimGroup) -> str | None:
    ext = group[VilaGroup]
    return ext.parent if ext is not None and ext.parent else None
