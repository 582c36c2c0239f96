"""All of Vila's Swedish and English texts, one catalog module per area, and the one lookup that
reads them: `text(key, language, **values)` (or `both(key, **values)` for a text kept in both
languages, such as a decision's reason).

The pure decision core keeps the reasons of its own rules beside the rules, in its precedence
table (`policies.core.rules`); every other text lives here. The web pages read the same catalogs
through `api.web.i18n.texts`, the pilot's report and pages through `catalog`.
"""

from __future__ import annotations

from types import ModuleType

from kernel.i18n import (
    admin,
    codes,
    errors,
    fleet,
    messaging,
    notices,
    pages,
    pilot,
    rest_records,
    staff_app,
    statement,
)
from kernel.vocabulary import LANGUAGES as LANGUAGES  # the page's language switch names them from here

AREAS: tuple[ModuleType, ...] = (
    pages,
    fleet,
    staff_app,
    rest_records,
    codes,
    errors,
    statement,
    messaging,
    admin,
    notices,
    pilot,
)

CATALOG: dict[str, tuple[str, str]] = {key: pair for area in AREAS for key, pair in area.TEXTS.items()}


def text(key: str, language: str | None, **values: object) -> str:
    """The text in the language (Swedish unless English is asked for), with `{name}` filled in."""
    sv, en = CATALOG[key]
    template = en if language == "en" else sv
    return template.format(**values) if values else template


def both(key: str, **values: object) -> tuple[str, str]:
    """The text in Swedish and in English, with `{name}` filled in."""
    return text(key, "sv", **values), text(key, "en", **values)


def catalog(language: str, *areas: ModuleType) -> dict[str, str]:
    """Every text of the areas (of all, without any) in the language, for a page to look up itself."""
    index = 1 if language == "en" else 0
    return {key: pair[index] for area in areas or AREAS for key, pair in area.TEXTS.items()}
