"""What every SCIM route needs: the integration principal, who acts (for the audit and the fleet),
the provisioned fields, a new person's defaults, the base address, and the query's filter and page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from scim2_models import Context, InvalidFilterException, SearchRequest
from scim2_models.path import CompareOperator, Comparison

from api.deps import ClockDep, SessionDep, SettingsDep, authenticate, request_meta
from kernel.auth.service import Principal
from kernel.directory.fields import parse_fields
from kernel.directory.service import PersonDefaults
from kernel.errors import NotAuthenticated
from notify.fleet.lifecycle import By

ACTION = "scim"  # audit actions: scim.person.create, scim.group.members, ...
MAX_COUNT = 1000


def scim_principal(request: Request, session: SessionDep, clock: ClockDep) -> Principal:
    """A bearer token of the `integration` role; a browser's session cookie is never enough here."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise NotAuthenticated("send the provisioning token as 'Authorization: Bearer <token>'")
    principal = authenticate(request, session, clock.now(), credential.strip(), integration=True)
    if principal is None:
        raise NotAuthenticated("the token is unknown, expired or revoked")
    request.state.principal = principal
    return principal


@dataclass(frozen=True)
class Scim:
    request: Request
    principal: Principal
    by: By
    provisioned: frozenset[str]
    base_url: str
    group_separator: str
    defaults: PersonDefaults

    def audited(self) -> None:
        """The change was written to the audit by the use case (no generic request record needed)."""
        self.request.state.audited = True


def scim_context(
    request: Request, settings: SettingsDep, principal: Annotated[Principal, Depends(scim_principal)]
) -> Scim:
    base = (settings.public_url or str(request.base_url)).rstrip("/") + "/scim/v2"
    return Scim(
        request=request,
        principal=principal,
        by=By(person_id=principal.person_id, label=principal.label, meta=request_meta(request)),
        provisioned=parse_fields(settings.provisioned_fields),
        base_url=base,
        group_separator=settings.scim_group_separator,
        defaults=PersonDefaults.of(settings),
    )


ScimDep = Annotated[Scim, Depends(scim_context)]


@dataclass(frozen=True)
class Query:
    request: SearchRequest[Any]
    equals: tuple[str, str] | None  # (attribute in lower case, value)
    offset: int
    count: int


def query(request: Request, filterable: tuple[str, ...]) -> Query:
    """startIndex (1-based), count and filter from the query string; the filter may be one
    `attribute eq "value"` on one of the `filterable` attributes."""
    params: dict[str, Any] = {k: v for k, v in request.query_params.items()}
    search: SearchRequest[Any] = SearchRequest.model_validate(params, scim_ctx=Context.SEARCH_REQUEST)
    equals = None
    if search.filter is not None:
        node = search.filter.ast
        if not isinstance(node, Comparison) or node.op != CompareOperator.eq or node.attr_path.sub_attr:
            raise InvalidFilterException(
                detail=f"only 'attribute eq \"value\"' filters are supported, on {', '.join(filterable)}"
            )
        attr = node.attr_path.attr
        if attr.lower() not in {f.lower() for f in filterable}:
            raise InvalidFilterException(detail=f"filtering on {attr} is not supported; use {', '.join(filterable)}")
        equals = (attr.lower(), str(node.value))
    start = max(1, search.start_index or 1)
    count = 100 if search.count is None else max(0, min(MAX_COUNT, search.count))
    return Query(request=search, equals=equals, offset=start - 1, count=count)
