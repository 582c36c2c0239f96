"""The precedence table: every rule of the engine, in the order it is applied.

`PRECEDENCE` is the one source of truth. `policies.core.engine.decide` walks it top to bottom, and
`docs/policy-engine.md` shows the same table, written by `scripts/precedence_doc.py` from
`markdown_table()` (a test fails when the doc is not current). Each rule has an
id, when it applies, what it does, and the reason text a decision carries when the rule shaped
it. Rules marked *blocks* do not decide by themselves: they stop the delivering rules below them
and send the message on to `reroute`, `override` and `hold`.

The reason texts, Swedish and English, stay here beside their rules, the one exception to "every
text in `kernel/i18n`": this table is the one source of truth for a rule, its reason included, and
the pure core reads no catalog. A decision carries its reason in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.core.types import Reason


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: str
    outcome: str
    reason: Reason


def _rule(rule_id: str, when: str, outcome: str, sv: str, en: str) -> Rule:
    return Rule(rule_id, when, outcome, Reason(rule_id, sv, en))


PRECEDENCE: tuple[Rule, ...] = (
    _rule(
        "expired",
        "the message's expiry has passed",
        "drop",
        "Meddelandet har gått ut och skickas inte.",
        "The message has expired and is not sent.",
    ),
    _rule(
        "emergency",
        "priority `emergency` (a declared major incident, reason mandatory)",
        "deliver `critical`; always ledger (restarts rest when in daily or weekly rest)",
        "Larm vid allvarlig händelse: når alla i mottagarlistan direkt.",
        "Major-incident alert: reaches everyone in the audience now.",
    ),
    _rule(
        "leave",
        "the recipient is on leave",
        "blocks",
        "Mottagaren är ledig (semester, sjukfrånvaro eller annan ledighet).",
        "The recipient is on leave (vacation, sick leave or other leave).",
    ),
    _rule(
        "dnd.on_call_role",
        "DND, `urgent`, addressed to the role the recipient is on call for now",
        "deliver `time_sensitive`; always ledger (it passed DND; restarts rest when in rest)",
        "Brådskande till rollen mottagaren har jour eller beredskap för: går fram trots stör ej.",
        "Urgent for the role the recipient is on call for: passes do-not-disturb.",
    ),
    _rule(
        "dnd",
        "the recipient has do-not-disturb on (e.g. with a patient)",
        "blocks",
        "Mottagaren har stör ej (t.ex. hos en patient).",
        "The recipient has do-not-disturb on (e.g. with a patient).",
    ),
    _rule(
        "on_call",
        "`urgent` and the recipient is on an active roster slot (jour or beredskap)",
        "deliver `time_sensitive`; ledger when in rest or quiet hours",
        "Brådskande och mottagaren har jour eller beredskap nu.",
        "Urgent and the recipient is on call now.",
    ),
    _rule(
        "on_duty",
        "`urgent` and the recipient is in working time",
        "deliver `time_sensitive`; ledger when in quiet hours",
        "Brådskande och mottagaren arbetar nu.",
        "Urgent and the recipient is at work now.",
    ),
    _rule(
        "weekly_rest",
        "the recipient is in weekly rest (36 h in 7 days; stand-by does not count)",
        "blocks",
        "Mottagaren har veckovila.",
        "The recipient is in weekly rest.",
    ),
    _rule(
        "daily_rest",
        "the recipient is in daily rest (11 h from the actual end of work)",
        "blocks",
        "Mottagaren har dygnsvila.",
        "The recipient is in daily rest.",
    ),
    _rule(
        "quiet_hours",
        "the recipient is in their quiet hours",
        "blocks",
        "Mottagaren har tysta timmar.",
        "The recipient is in their quiet hours.",
    ),
    _rule(
        "off_duty",
        "outside working time (and not the policy's morning release)",
        "blocks",
        "Mottagaren arbetar inte nu.",
        "The recipient is not working now.",
    ),
    _rule(
        "working_time",
        "`info` or `normal`, nothing above blocks",
        "deliver `passive` (info) or `active` (normal)",
        "Mottagaren arbetar och kan ta emot meddelanden nu.",
        "The recipient is at work and can receive messages now.",
    ),
    _rule(
        "reroute",
        "`normal` or `urgent` addressed to a role that someone else covers now",
        "reroute to the person on call for the role",
        "Skickas vidare till den som har jour eller beredskap för rollen.",
        "Passed on to the person on call for the role.",
    ),
    _rule(
        "override",
        "`urgent` with a reason, the policy allows the sender's role to override, under the "
        "weekly cap; not during leave or DND (then held, and released as an ordinary urgent message)",
        "deliver `time_sensitive`; always ledger",
        "Avsändaren får enligt policyn bryta vilan, med angivet skäl.",
        "The policy lets the sender override rest, with a stated reason.",
    ),
    _rule(
        "hold",
        "anything not delivered above",
        "hold until the earliest allowed instant; if none is known within the 7-day horizon, until its "
        "end, and decide again then",
        "Hålls kvar till nästa tillåtna tidpunkt och kommer då i en sammanfattning.",
        "Held until the next allowed time and then sent in one digest.",
    ),
    _rule(
        "expires_before_release",
        "the message would expire before its release",
        "drop",
        "Meddelandet skulle gå ut innan det får skickas.",
        "The message would expire before it may be sent.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in PRECEDENCE}


def reason(rule_id: str) -> Reason:
    return RULES[rule_id].reason


def markdown_table() -> str:
    """`PRECEDENCE` as the Markdown table of `docs/policy-engine.md`."""
    lines = ["| # | Rule | When | Outcome |", "|---|------|------|---------|"]
    lines += [f"| {n} | `{rule.id}` | {rule.when} | {rule.outcome} |" for n, rule in enumerate(PRECEDENCE, 1)]
    return "\n".join(lines) + "\n"


# Reasons that qualify a decision without being a precedence step of their own.
OVERRIDE_NOT_ALLOWED = Reason(
    "override.not_allowed",
    "Policyn tillåter inte att vilan bryts för brådskande meddelanden.",
    "The policy does not allow urgent messages to override rest.",
)
OVERRIDE_ROLE = Reason(
    "override.role",
    "Avsändarens roll får inte bryta vilan enligt policyn.",
    "The sender's role may not override rest under the policy.",
)
OVERRIDE_REASON_MISSING = Reason(
    "override.reason_missing",
    "Skäl saknas; policyn kräver ett skäl för att bryta vilan.",
    "No reason given; the policy requires one to override rest.",
)
OVERRIDE_CAP = Reason(
    "override.cap",
    "Veckotaket för brutna viloperioder för mottagaren är nått.",
    "The recipient's weekly cap on overrides is reached.",
)
OVERRIDE_BLOCKED = Reason(
    "override.blocked",
    "Ledighet och stör ej kan inte brytas med ett brådskande meddelande.",
    "Leave and do-not-disturb cannot be overridden by an urgent message.",
)
HORIZON = Reason(
    "hold.horizon",
    "Ingen tillåten tidpunkt i känt schema; prövas igen när schemat tar slut.",
    "No allowed time in the known schedule; decided again where it ends.",
)
