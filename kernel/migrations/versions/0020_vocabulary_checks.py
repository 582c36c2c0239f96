"""Closed vocabularies enforced by the database: a CHECK constraint on every column that holds one
of a fixed set of words (priorities, platforms, providers, languages, roles, and the states and
kinds of devices, messages, decisions, deliveries, e-mails, jobs, availability, the rest ledger and
the device fleet).

The words are those of this revision, written here as migrations keep them; the models build the
same constraints from their Literal types (`kernel.checks`), and a test holds the two together.
A later change to a vocabulary comes with a migration of its own.

Revision ID: 0020_vocabulary_checks
Revises: 0018_scim
"""

from __future__ import annotations

from alembic import op

from kernel.checks import all_of_sql, one_of_sql

revision = "0020_vocabulary_checks"
down_revision = "0018_scim"
branch_labels = None
depends_on = None

ROLES = ("staff", "manager", "hr", "admin", "union", "evaluator", "it", "integration")
PRIORITIES = ("info", "normal", "urgent", "emergency")
PLATFORMS = ("ios", "android", "web")
PROVIDERS = ("fcm", "apns", "webpush")
LANGUAGES = ("sv", "en")
LEVELS = ("passive", "active", "time_sensitive", "critical")

# table -> column -> the words it may hold
ONE_OF: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {"language": LANGUAGES},
    "group": {"kind": ("region", "administration", "unit", "team")},
    "api_token": {"kind": ("api", "web")},
    "device": {
        "platform": PLATFORMS,
        "provider": PROVIDERS,
        "ownership": ("work", "private"),
        "state": ("active", "stale", "pruned", "removed", "lost", "blocked"),
    },
    "message": {
        "priority": PRIORITIES,
        "state": ("scheduled", "accepted", "decided", "failed", "recalled"),
    },
    "recipient": {"decision": ("deliver", "hold", "reroute", "drop"), "level": LEVELS},
    "delivery": {
        "kind": ("message", "digest", "recall"),
        "state": (
            "pending",
            "sending",
            "sent",
            "failed",
            "uncertain",
            "held",
            "digested",
            "dropped",
            "pruned",
            "recalled",
            "withdrawn",
        ),
        "provider": PROVIDERS,
        "level": LEVELS,
    },
    "email_message": {"state": ("pending", "sending", "sent", "bounced", "failed", "recalled")},
    "job": {"state": ("pending", "running", "done", "failed")},
    "fleet_asset": {
        "kind": ("phone", "tablet", "shared_tablet"),
        "state": ("in_stock", "assigned", "loaner", "on_loan", "returned", "wiped", "in_repair", "lost", "retired"),
        "managed_account": ("managed", "personal", "none", "unknown"),
    },
    "fleet_assignment": {"kind": ("assignment", "loan")},
    "fleet_offboarding": {"reason": ("deactivated", "leaving")},
    "fleet_offboarding_step": {"kind": ("disable_push", "return_asset", "wipe_asset", "subscription", "extension")},
    "shift": {"kind": ("planned", "callout")},
    "dnd_session": {"source": ("manual", "calendar")},
    "leave": {"kind": ("vacation", "sick", "parental", "other")},
    "on_call_slot": {"kind": ("jour", "beredskap")},
    "roster": {"kind": ("jour", "beredskap")},
    "rest_ledger_entry": {"kind": ("emergency", "on_call", "on_duty", "override"), "priority": PRIORITIES},
    "rest_period": {"kind": ("daily", "weekly")},
}
# table -> JSON list column -> the words its items may be
ALL_OF: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {"roles": ROLES},
    "api_token": {"roles": ROLES},
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in sorted(ONE_OF.keys() | ALL_OF.keys()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, words in ONE_OF.get(table, {}).items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), one_of_sql(column, words))
            for column, words in ALL_OF.get(table, {}).items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), all_of_sql(column, words, dialect))


def downgrade() -> None:
    for table in sorted(ONE_OF.keys() | ALL_OF.keys()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in [*ONE_OF.get(table, {}), *ALL_OF.get(table, {})]:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
