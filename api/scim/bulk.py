"""SCIM bulk requests (RFC 7644 §3.7): many operations in one request and one transaction.

Runs of `POST /Users` and `POST /Groups` are written set-based (notify/provisioning/batch.py);
`PATCH /Groups/...` and `DELETE` go through the same use cases as single requests. `bulkId:`
references (a group's members, a patched group) resolve to what the request created earlier.
Vila applies a bulk request atomically, like its CSV import: when an operation is refused, nothing
is written and the answer is one SCIM Error naming the refused operations (409 uniqueness when a
value is taken, else 400 invalidValue).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from fastapi import APIRouter, Body, Response
from scim2_models import Context, InvalidValueException, SCIMException, UniquenessException
from sqlalchemy.orm import Session

from api.deps import ClockDep, SessionDep, UowDep
from api.scim.common import ACTION, Scim, ScimDep
from api.scim.errors import ScimRoute, scim_json
from api.scim.groups import _group, apply_patch
from api.scim.mapping import ScimGroup, ScimUser, normalise_user_body, parent_ref, parse_id, user_values
from api.scim.users import _person
from kernel.errors import InvalidInput, VilaError
from notify.provisioning import batch, people
from notify.provisioning import groups as provisioned_groups

router = APIRouter(route_class=ScimRoute)
MAX_OPERATIONS = 1000
MAX_PAYLOAD = 5 * 1024 * 1024
JsonBody = Body(..., media_type="application/scim+json")
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def _kind(op: dict[str, Any]) -> str:
    method = str(op.get("method", "")).upper()
    path = str(op.get("path", ""))
    if method == "POST" and path in ("/Users", "/Groups"):
        return f"POST {path}"
    return "single"


def _refuse(refused: list[batch.Refused], ops: list[dict[str, Any]]) -> SCIMException:
    text = "; ".join(
        f"operation {r.row + 1}"
        + (f" (bulkId {ops[r.row].get('bulkId')})" if ops[r.row].get("bulkId") else "")
        + f": {r.reason}"
        for r in refused[:10]
    )
    more = f" (and {len(refused) - 10} more)" if len(refused) > 10 else ""
    detail = f"nothing was written: {text}{more}"
    if any("already exists" in r.reason for r in refused):
        return UniquenessException(detail=detail)
    return InvalidValueException(detail=detail)


@router.post("/Bulk")
def bulk(body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep,
         scim: ScimDep, clock: ClockDep) -> Response:  # fmt: skip
    ops = body.get("Operations")
    if not isinstance(ops, list) or not ops or not all(isinstance(o, dict) for o in ops):
        raise InvalidValueException(detail="a bulk request needs Operations: a list of operation objects")
    if len(ops) > MAX_OPERATIONS:
        from scim2_models import TooManyException

        raise TooManyException(detail=f"a bulk request holds at most {MAX_OPERATIONS} operations")
    now = clock.now()
    ids: dict[str, str] = {}
    results: list[dict[str, Any]] = [{} for _ in ops]
    for kind, run in groupby(enumerate(ops), key=lambda pair: _kind(pair[1])):
        chunk = list(run)
        if kind == "POST /Users":
            _post_users(session, scim, chunk, ops, ids, results, now)
        elif kind == "POST /Groups":
            _post_groups(session, scim, chunk, ops, ids, results, now)
        else:
            for i, op in chunk:
                try:
                    results[i] = _single(session, scim, op, ids, now)
                except (VilaError, SCIMException) as exc:
                    reason = exc.message if isinstance(exc, VilaError) else exc.detail
                    raise _refuse([batch.Refused(i, reason)], ops) from exc
    scim.audited()
    uow.commit()
    answer = {"schemas": [BULK_RESPONSE], "Operations": results}
    return scim_json(answer)


def _validated(model: Any, data: Any, i: int, ops: list[dict[str, Any]]) -> Any:
    try:
        return model.model_validate(data, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    except Exception as exc:
        raise _refuse([batch.Refused(i, str(exc).splitlines()[-1].strip() or "invalid data")], ops) from exc


def _post_users(session: Session, scim: Scim, chunk: list[tuple[int, dict[str, Any]]], ops: list[dict[str, Any]],
                ids: dict[str, str], results: list[dict[str, Any]], now: Any) -> None:  # fmt: skip
    rows = []
    for i, op in chunk:
        user = _validated(ScimUser, normalise_user_body(dict(op.get("data") or {})), i, ops)
        try:
            rows.append((i, user_values(user)))
        except VilaError as exc:
            raise _refuse([batch.Refused(i, exc.message)], ops) from exc
    outcome = batch.create_people(session=session, rows=rows, provisioned=scim.provisioned, by=scim.by, now=now,
                                  action=f"{ACTION}.person", defaults=scim.defaults)  # fmt: skip
    if outcome.refused:
        raise _refuse(outcome.refused, ops)
    for (i, op), pid in zip(chunk, outcome.ids, strict=True):
        if op.get("bulkId"):
            ids[str(op["bulkId"])] = str(pid)
        results[i] = {"method": "POST", "bulkId": op.get("bulkId"), "location": f"{scim.base_url}/Users/{pid}",
                      "status": "201"}  # fmt: skip


def _post_groups(session: Session, scim: Scim, chunk: list[tuple[int, dict[str, Any]]], ops: list[dict[str, Any]],
                 ids: dict[str, str], results: list[dict[str, Any]], now: Any) -> None:  # fmt: skip
    rows: list[batch.GroupRow] = []
    members: list[tuple[int, int, list[str]]] = []
    for i, op in chunk:
        data = dict(op.get("data") or {})
        raw_members = data.pop("members", None) or []
        group = _validated(ScimGroup, data, i, ops)
        try:
            ref = parent_ref(group)
            if ref and ref.startswith("bulkId:"):
                ref = ids.get(ref[7:], ref)
            parent = provisioned_groups.resolve_parent(
                session=session, name=group.display_name or "", parent_ref=ref, separator=scim.group_separator
            )
        except VilaError as exc:
            raise _refuse([batch.Refused(i, exc.message)], ops) from exc
        rows.append(batch.GroupRow(row=i, name=group.display_name or "", external_id=group.external_id,
                                   parent_id=parent))  # fmt: skip
        values = [str(m.get("value", "")) if isinstance(m, dict) else str(m) for m in raw_members]
        members.append((i, len(rows) - 1, values))
    outcome = batch.create_groups(session=session, rows=rows, by=scim.by, now=now, action=f"{ACTION}.group")
    if outcome.refused:
        raise _refuse(outcome.refused, ops)
    pairs = []
    for i, position, values in members:
        for value in values:
            value = ids.get(value[7:], value) if value.startswith("bulkId:") else value
            try:
                pairs.append((i, outcome.ids[position], parse_id(value, "member")))
            except InvalidInput as exc:
                raise _refuse([batch.Refused(i, exc.message)], ops) from exc
    added = batch.add_memberships(session=session, pairs=pairs, by=scim.by, now=now, action=f"{ACTION}.group")
    if added.refused:
        raise _refuse(added.refused, ops)
    for (i, op), gid in zip(chunk, outcome.ids, strict=True):
        if op.get("bulkId"):
            ids[str(op["bulkId"])] = str(gid)
        results[i] = {"method": "POST", "bulkId": op.get("bulkId"), "location": f"{scim.base_url}/Groups/{gid}",
                      "status": "201"}  # fmt: skip


def _single(session: Session, scim: Scim, op: dict[str, Any], ids: dict[str, str], now: Any) -> dict[str, Any]:
    method = str(op.get("method", "")).upper()
    path = str(op.get("path", ""))
    for key, value in ids.items():
        path = path.replace(f"bulkId:{key}", value)
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] not in ("Users", "Groups"):
        raise InvalidInput(f"{method} {path} is not an operation a bulk request may hold")
    base = {"method": method, "bulkId": op.get("bulkId"), "location": f"{scim.base_url}/{parts[0]}/{parts[1]}"}
    if method == "PATCH" and parts[0] == "Groups":
        apply_patch(session=session, group=_group(session, parts[1]), body=dict(op.get("data") or {}), scim=scim,
                    now=now, ids=ids)  # fmt: skip
        return {**base, "status": "204"}
    if method == "DELETE" and parts[0] == "Users":
        person = _person(session, parts[1])
        before = person.snapshot()
        if people.deactivate(session=session, person=person, by=scim.by, now=now):
            people.log(session, by=scim.by, now=now, action=f"{ACTION}.person.deactivate", person=person, before=before)
        return {**base, "status": "204"}
    if method == "DELETE" and parts[0] == "Groups":
        group = _group(session, parts[1])
        provisioned_groups.deactivate(session=session, group=group, by=scim.by, now=now, action=f"{ACTION}.group")
        return {**base, "status": "204"}
    raise InvalidInput(f"{method} /{parts[0]} is not supported in a bulk request; send it on its own")
