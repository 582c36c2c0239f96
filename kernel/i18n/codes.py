"""Swedish and English words for every code the API answers with that a page shows a person:
priorities, states, decisions, rules, ledger kinds, device labels, roles and policy fields.

A page never shows a code itself: it looks up `code.<kind>.<value>` (`label()` in app.js), and
the language walk in the end-to-end tests fails on any code left on a page.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # priorities
    "code.priority.info": ("Info", "Info"),
    "code.priority.normal": ("Normal", "Normal"),
    "code.priority.urgent": ("Brådskande", "Urgent"),
    "code.priority.emergency": ("Katastrofläge", "Emergency"),
    # a message's state
    "code.message_state.accepted": ("Mottaget", "Accepted"),
    "code.message_state.deciding": ("Beslutas", "Being decided"),
    "code.message_state.decided": ("Beslutat", "Decided"),
    # decisions
    "code.decision.deliver": ("Nås nu", "Reached now"),
    "code.decision.hold": ("Väntar", "Held"),
    "code.decision.reroute": ("Till ersättare", "Rerouted"),
    "code.decision.drop": ("Förfaller", "Expires unsent"),
    # what kind of contact during rest a ledger entry records
    "code.contact.emergency": ("Katastrofläge", "Emergency"),
    "code.contact.on_call": ("Jour eller beredskap", "On call"),
    "code.contact.on_duty": ("I tjänst", "On duty"),
    "code.contact.override": ("Åsidosatt vila", "Rest overridden"),
    # the states a contact hit, and the rules of the engine
    "code.rule.expired": ("Har gått ut", "Expired"),
    "code.rule.emergency": ("Katastrofläge", "Emergency"),
    "code.rule.leave": ("Ledig", "On leave"),
    "code.rule.dnd.on_call_role": ("Jourroll trots stör ej", "On-call role despite do-not-disturb"),
    "code.rule.dnd": ("Med patient / stör ej", "With a patient / do not disturb"),
    "code.rule.on_call": ("Har jour eller beredskap", "On call"),
    "code.rule.on_duty": ("I tjänst", "On duty"),
    "code.rule.weekly_rest": ("Veckovila", "Weekly rest"),
    "code.rule.daily_rest": ("Dygnsvila", "Daily rest"),
    "code.rule.quiet_hours": ("Tysta timmar", "Quiet hours"),
    "code.rule.off_duty": ("Utanför arbetstid", "Off duty"),
    "code.rule.working_time": ("Arbetstid", "Working time"),
    "code.rule.reroute": ("Till ersättare", "Rerouted"),
    "code.rule.override": ("Åsidosatt vila", "Rest overridden"),
    "code.rule.hold": ("Väntar", "Held"),
    "code.rule.expires_before_release": ("Förfaller innan den får skickas", "Expires before it may be sent"),
    "code.rule.escalation": ("Eskalerat", "Escalated"),
    "code.rule.horizon": ("Ingen känd tid", "No known time"),
    # devices
    "code.platform.ios": ("iPhone/iPad", "iPhone/iPad"),
    "code.platform.android": ("Android", "Android"),
    "code.platform.web": ("Webbläsare", "Browser"),
    "code.provider.fcm": ("via Google", "via Google"),
    "code.provider.apns": ("via Apple", "via Apple"),
    "code.provider.webpush": ("via webbläsarens pushtjänst", "via the browser's push service"),
    "code.ownership.work": ("tjänsteenhet", "work device"),
    "code.ownership.private": ("privat enhet", "private device"),
    "code.device_state.active": ("aktiv", "active"),
    "code.device_state.stale": ("inte sedd på länge", "not seen for a long time"),
    "code.device_state.pruned": ("avregistrerad av leverantören", "unregistered by the provider"),
    "code.device_state.removed": ("borttagen", "removed"),
    "code.device_state.lost": ("förlorad", "lost"),
    "code.device_state.blocked": ("spärrad", "blocked"),
    # roles
    "code.role.staff": ("medarbetare", "staff"),
    "code.role.manager": ("chef", "manager"),
    "code.role.hr": ("HR", "HR"),
    "code.role.admin": ("administratör", "administrator"),
    "code.role.union": ("facklig företrädare", "union representative"),
    "code.role.evaluator": ("utvärderare", "evaluator"),
    "code.role.it": ("IT och enhetsadministration", "IT and device administration"),
    "code.role.integration": ("katalogintegration (SCIM)", "directory integration (SCIM)"),
    # policy fields (the editor's diff) and their values
    "code.policy_field.effective_from": ("Gäller från", "Effective from"),
    "code.policy_field.daily_rest_hours": ("Dygnsvila (timmar)", "Daily rest (hours)"),
    "code.policy_field.weekly_rest_hours": ("Veckovila (timmar)", "Weekly rest (hours)"),
    "code.policy_field.working_time": ("Arbetstid räknas från", "Working time counted from"),
    "code.policy_field.hold_target": ("Väntande meddelanden släpps", "Held messages are released"),
    "code.policy_field.morning_time": ("Morgonutskick klockan", "Morning release at"),
    "code.policy_field.urgent_override_allowed": (
        "Chefer får åsidosätta vila för brådskande",
        "Managers may override rest for urgent",
    ),
    "code.policy_field.override_roles": ("Roller som får åsidosätta", "Roles that may override"),
    "code.policy_field.override_reason_required": ("Skäl krävs", "A reason is required"),
    "code.policy_field.override_weekly_cap": (
        "Högst antal åsidosättanden per person och vecka",
        "Most overrides per person and week",
    ),
    "code.policy_field.compensatory_days": ("Kompensationsvila inom (dagar)", "Compensatory rest within (days)"),
    "code.policy_field.content_free_push": ("Pushar utan innehåll", "Content-free pushes"),
    "code.policy_field.private_devices_allowed": ("Privata enheter tillåtna", "Private devices allowed"),
    "code.policy_field.approval_note": ("Beslutsnotering", "Approval note"),
    "code.work_source.shift": ("arbetspass", "shifts"),
    "code.work_source.weekly_hours": ("veckoschema", "weekly hours"),
    "code.work_source.jour": ("jour", "on call at the workplace"),
    "code.hold_target.next_shift": ("vid nästa arbetspass", "at the next shift"),
    "code.hold_target.morning": ("på morgonen", "in the morning"),
    "code.bool.true": ("ja", "yes"),
    "code.bool.false": ("nej", "no"),
}
