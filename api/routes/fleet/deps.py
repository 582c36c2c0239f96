"""The fleet routes' dependencies: who acts (for the fleet's own audit records), the IT guard, the figures' readers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import CurrentPerson, request_meta
from kernel.auth.service import Principal
from kernel.errors import PermissionDenied
from notify.fleet.access import may_read_figures, may_run_fleet
from notify.fleet.lifecycle import By


def fleet_actor(request: Request, me: CurrentPerson) -> By:
    """The fleet's services write an audit record for every change they make, whichever way in
    (REST, an import, a job), so the request needs no record of its own."""
    request.state.audited = True
    return By(person_id=me.person_id, label=me.label, roles=me.roles, meta=request_meta(request))


def require_it(me: CurrentPerson) -> Principal:
    if not may_run_fleet(me):
        raise PermissionDenied("the device fleet is run by device administration: this needs the role it or admin")
    return me


def require_figures_reader(me: CurrentPerson) -> Principal:
    if not may_read_figures(me):
        raise PermissionDenied("the fleet's figures are for device administration and HR")
    return me


ActorDep = Annotated[By, Depends(fleet_actor)]
ItPerson = Annotated[Principal, Depends(require_it)]
# The cost model's figures: device administration and HR.
FiguresReader = Annotated[Principal, Depends(require_figures_reader)]
