"""People and groups provisioned from outside (SCIM from the identity system, CSV imports): one
set of use cases, so every way in gets the same follow-up (deactivation offboards, nothing is deleted)."""
