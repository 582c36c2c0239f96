"""The pilot routes' permissions as `Annotated` dependencies, and the fleet register's cost figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from api.deps import CurrentPerson
from kernel.auth.service import Principal
from kernel.errors import PermissionDenied
from pilot import permissions
from pilot.costs.fleet import NO_FLEET, FleetCostSource


def allowed(predicate: Callable[[Principal], bool], needs: str) -> Callable[[Principal], Principal]:
    def check(me: CurrentPerson) -> Principal:
        if not predicate(me):
            raise PermissionDenied(f"this needs the role {needs}; you have {', '.join(sorted(me.roles)) or 'none'}")
        return me

    return check


PilotManager = Annotated[Principal, Depends(allowed(permissions.may_manage_pilots, "hr or admin"))]
ReportReader = Annotated[Principal, Depends(allowed(permissions.may_read_pilot_report, "evaluator, hr or admin"))]
CostEditor = Annotated[Principal, Depends(allowed(permissions.may_edit_pilot_costs, "evaluator, hr or admin"))]
Reminder = Annotated[Principal, Depends(allowed(permissions.may_send_survey_reminders, "evaluator, hr or admin"))]
FreeTextReader = Annotated[Principal, Depends(allowed(permissions.may_export_free_text, "evaluator"))]


def fleet_costs(request: Request) -> FleetCostSource:
    """The fleet register's figures, when the composition root has wired one in."""
    source: FleetCostSource | None = getattr(request.app.state, "fleet_costs", None)
    return source or NO_FLEET


FleetDep = Annotated[FleetCostSource, Depends(fleet_costs)]
