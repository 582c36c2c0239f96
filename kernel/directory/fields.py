"""The person fields an identity system may provide (a setting chooses which it does)."""

from __future__ import annotations

# The person fields the identity system may provide. A field outside the configured set is Vila's
# own: provisioning never writes it, and Vila's pages may change it freely.
PROVISIONABLE = (
    "name",
    "email",
    "external_id",
    "profession",
    "employment_type",
    "employee_number",
    "department",
    "manager_id",
    "active",
)
DEFAULT_PROVISIONED = ",".join(PROVISIONABLE)


def parse_fields(text: str) -> frozenset[str]:
    """A comma-separated list of provisionable fields (a setting); ValueError names an unknown one."""
    fields = frozenset(f.strip() for f in text.split(",") if f.strip())
    unknown = sorted(fields - set(PROVISIONABLE))
    if unknown:
        raise ValueError(f"unknown provisioned field(s) {', '.join(unknown)}; choose from {', '.join(PROVISIONABLE)}")
    return fields
