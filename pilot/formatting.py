"""Numbers, money, shares and dates as the reader's language writes them (Babel's CLDR data)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from kernel.timezones import zone

_LOCALES = {"sv": "sv_SE", "en": "en_GB"}


def locale(language: str) -> str:
    return _LOCALES.get(language, "sv_SE")


def number(value: float | Decimal | int | None, language: str, digits: int = 1) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale(language))


def signed(value: float | None, language: str, digits: int = 1) -> str:
    """A change: always with its sign (+0,4 or −0,3), a true minus sign for the reader's eye."""
    if value is None:
        return "–"
    text = number(abs(value), language, digits)
    if round(value, digits) == 0:
        return text
    return ("+" if value > 0 else "−") + text


def money(value: Decimal | float | None, language: str) -> str:
    """Whole kronor: 6 840 kr, or SEK 6,840."""
    if value is None:
        return "–"
    amount = format_decimal(round(Decimal(value)), format="#,##0", locale=locale(language))
    return f"{amount}\u00a0kr" if language == "sv" else f"SEK\u00a0{amount}"


def share(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    return format_percent(value, format="#,##0\u00a0%", locale=locale(language))


def day(value: date, language: str) -> str:
    return format_date(value, format="long", locale=locale(language))


def instant(value: datetime, tz: str, language: str) -> str:
    return format_datetime(value, format="d MMMM y HH:mm", tzinfo=zone(tz), locale=locale(language))
