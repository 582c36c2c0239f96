"""All of Vila's Swedish and English texts, one catalog module per area, and the one lookup that
reads them: `text(key, language, **values)` (or `both(key, **values)` for a text kept in both
languages, such as a decision's reason).

The pure decision core keeps the reasons of its own rules beside the rules, in its precedence
table (`policies.core.rules`); every other text lives here. The web pages read the same catalogs
through `api.web.i18n.texts`.
"""

from __future__ import annotations

from kernel.i18n import admin, codes, errors, fleet, messaging, notices, rest_records, staff_app, statement

CATALOG: dict[str, tuple[str, str]] = (
    fleet.TEXTS
    | staff_app.TEXTS
    | rest_records.TEXTS
    | codes.TEXTS
    | errors.TEXTS
    | statement.TEXTS
    | messaging.TEXTS
    | admin.TEXTS
    | notices.TEXTS
)


def text(key: str, language: str | None, **values: object) -> str:
    """The text in the language (Swedish unless English is asked for), with `{name}` filled in."""
    sv, en = CATALOG[key]
    template = en if language == "en" else sv
    return template.format(**values) if values else template


def both(key: str, **values: object) -> tuple[str, str]:
    """The text in Swedish and in English, with `{name}` filled in."""
    return text(key, "sv", **values), text(key, "en", **values)
