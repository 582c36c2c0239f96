"""Which language a page is shown in, and the texts it gets. The person's `language` is the
default; the `vila_lang` cookie (set by the language switch) wins. The words themselves are in
`kernel.i18n`, with every other text of Vila."""

from __future__ import annotations

from kernel.i18n import (
    LANGUAGES,
    admin,
    catalog,
    codes,
    errors,
    fleet,
    messaging,
    pages,
    rest_records,
    staff_app,
    statement,
)

__all__ = ["LANGUAGES", "texts"]

# The areas every page can show; a page with texts of its own adds its area (`api.web.pages`).
AREAS = (pages, fleet, staff_app, rest_records, codes, errors, statement, messaging, admin)


def texts(language: str) -> dict[str, str]:
    out = catalog(language, *AREAS)
    # The API's known validator sentences, so the page can say them in the reader's language.
    out |= {"known." + said: key for said, key in errors.KNOWN_MESSAGES.items()}
    return out
