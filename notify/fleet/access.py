"""Who may do what with the fleet, as named predicates; everything else is denied.

    may_run_fleet        device administration: roles it and admin (register, assign, lend,
                         import, offboarding, costs)
    may_read_figures     the fleet's cost figures for the pilot's cost model: it, admin, hr

The lifecycle's own table says who may make each transition (`lifecycle.TRANSITIONS`): the person
who has an asset, and their manager, may report it lost. An offboarding step may be done by its
owner (e.g. the manager who collects a leaver's phone) or device administration
(`offboarding.complete`).
"""

from __future__ import annotations

from kernel.auth.service import Principal

FLEET_ROLES = ("it", "admin")


def may_run_fleet(principal: Principal) -> bool:
    return principal.has(*FLEET_ROLES)


def may_read_figures(principal: Principal) -> bool:
    return principal.has(*FLEET_ROLES, "hr")
