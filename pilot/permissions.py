"""Who may do what with pilots: named predicates, deny by default. Routes declare them as dependencies.

    manage pilots      hr, admin         create pilots, schedule waves, enrol participants
    read the report    evaluator, hr, admin   aggregates only: no figure for a group under five
    edit the costs     evaluator, hr, admin   the cost model's inputs and the roll-out table
    send reminders     evaluator, hr, admin   the answer says how many, never who
    export free text   evaluator              the only way free-text answers leave Vila

Managers have no pilot right: they see neither participation nor results. Everyone answers their
own surveys.
"""

from __future__ import annotations

from kernel.auth.service import Principal


def may_manage_pilots(principal: Principal) -> bool:
    return principal.has("hr", "admin")


def may_read_pilot_report(principal: Principal) -> bool:
    return principal.has("evaluator", "hr", "admin")


def may_edit_pilot_costs(principal: Principal) -> bool:
    return principal.has("evaluator", "hr", "admin")


def may_send_survey_reminders(principal: Principal) -> bool:
    return principal.has("evaluator", "hr", "admin")


def may_export_free_text(principal: Principal) -> bool:
    return principal.has("evaluator")
