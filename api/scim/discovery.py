"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, built from the models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    ListResponse,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

from api.scim.bulk import MAX_OPERATIONS, MAX_PAYLOAD
from api.scim.common import MAX_COUNT, ScimDep
from api.scim.errors import ScimRoute, scim_json
from api.scim.mapping import ScimGroup, ScimUser, VilaGroup
from kernel.errors import NotFound

router = APIRouter(route_class=ScimRoute)


def _config(base_url: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="A Vila token of the integration role: Authorization: Bearer <token>",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


def _resource_types(base_url: str) -> list[ResourceType]:
    found = []
    for model in (ScimUser, ScimGroup):
        rt = ResourceType.from_resource(model)
        rt.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/{rt.id}")
        found.append(rt)
    return found


def _schemas(base_url: str) -> list[Schema]:
    found = []
    for model in (User, EnterpriseUser, Group, VilaGroup):
        schema = model.to_schema()
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
        found.append(schema)
    return found


def _listing(items: list[Any]) -> dict[str, Any]:
    """A ListResponse of resources of one kind (the model parameter names it)."""
    kind: Any = type(items[0])
    listing = ListResponse[kind](total_results=len(items), start_index=1, items_per_page=len(items), resources=items)
    dumped: dict[str, Any] = listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE)
    return dumped


@router.get("/ServiceProviderConfig")
def service_provider_config(scim: ScimDep) -> Response:
    return scim_json(_config(scim.base_url).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/ResourceTypes")
def resource_types(scim: ScimDep) -> Response:
    return scim_json(_listing(_resource_types(scim.base_url)))


@router.get("/ResourceTypes/{name}")
def resource_type(name: str, scim: ScimDep) -> Response:
    for rt in _resource_types(scim.base_url):
        if rt.id == name:
            return scim_json(rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFound(f"no resource type {name}")


@router.get("/Schemas")
def schemas(scim: ScimDep) -> Response:
    return scim_json(_listing(_schemas(scim.base_url)))


@router.get("/Schemas/{schema_id}")
def schema(schema_id: str, scim: ScimDep) -> Response:
    for found in _schemas(scim.base_url):
        if found.id == schema_id:
            return scim_json(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFound(f"no schema {schema_id}")
