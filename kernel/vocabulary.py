"""The shared words of Vila's domain as types, defined once: roles, priorities, platforms,
providers and languages. The CLI, the API's schemas, the ORM and the pure engine all use these.

Pure: it imports nothing but `typing`, so the decision core may use it too.
"""

from __future__ import annotations

from typing import Literal, get_args

# union: a union or safety representative; evaluator: reads the pilot evaluation and exports its free
# text; it: device administration (the fleet of phones and tablets); integration: the identity
# system's provisioning client (SCIM), whose credentials are good for /scim/v2 and nothing else
Role = Literal["staff", "manager", "hr", "admin", "union", "evaluator", "it", "integration"]
Priority = Literal["info", "normal", "urgent", "emergency"]
Platform = Literal["ios", "android", "web"]
Provider = Literal["fcm", "apns", "webpush"]
Language = Literal["sv", "en"]

ROLES: tuple[Role, ...] = get_args(Role)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
PLATFORMS: tuple[Platform, ...] = get_args(Platform)
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
LANGUAGES: tuple[Language, ...] = get_args(Language)
